"""The durable event log: columnar, partitioned by day, append-only."""

from __future__ import annotations

from palate.events.codec import events_to_table, table_to_events
from palate.events.log import EventLog
from palate.events.schema import (
    EVENT_COLUMNS,
    EVENT_SCHEMA,
    ORDER_LINE_TYPE,
    conform,
    empty_events,
)

__all__ = [
    "EVENT_COLUMNS",
    "EVENT_SCHEMA",
    "ORDER_LINE_TYPE",
    "EventLog",
    "conform",
    "empty_events",
    "events_to_table",
    "table_to_events",
]
