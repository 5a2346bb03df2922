"""Hand-built event tables for feature tests, where the right answer is obvious."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from palate.domain.events import Click, EntityKind, Event, Impression, Order, OrderLine, Premise
from palate.events.codec import events_to_table

FRIDAY = datetime(2024, 5, 3, 16, 0, tzinfo=UTC)  # Friday 19:00 in Helsinki (UTC+3)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
_ids = itertools.count()


def order(
    user: str,
    venue: str,
    at: datetime,
    items: Sequence[tuple[str, int]] = (("i1", 1),),
    total: float = 20.0,
) -> Order:
    n = next(_ids)
    lines = tuple(OrderLine(item, quantity, 5.0) for item, quantity in items)
    return Order(
        event_id=f"o-{n}",
        user_id=user,
        ts=at,
        order_id=f"order-{n}",
        venue_id=venue,
        lines=lines,
        total=total,
    )


def impression(user: str, venue: str, at: datetime) -> Impression:
    return Impression(
        event_id=f"i-{next(_ids)}",
        user_id=user,
        ts=at,
        request_id="r",
        premise=Premise.DISCOVERY,
        entity_kind=EntityKind.VENUE,
        entity_id=venue,
        position=0,
    )


def click(user: str, venue: str, at: datetime) -> Click:
    return Click(
        event_id=f"c-{next(_ids)}",
        user_id=user,
        ts=at,
        entity_kind=EntityKind.VENUE,
        entity_id=venue,
    )


def table(events: Sequence[Event]) -> pa.Table:
    return events_to_table(list(events))
