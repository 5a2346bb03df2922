"""The columnar schema of the event log: one flat table for every event type.

Columns that do not apply to an event type are null. For venue impressions and clicks
``venue_id`` repeats ``entity_id`` so that joins on venue never need to look at the kind.
"""

from __future__ import annotations

import pyarrow as pa

ORDER_LINE_TYPE = pa.struct(
    [("item_id", pa.string()), ("quantity", pa.int32()), ("unit_price", pa.float64())]
)

EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("type", pa.string()),
        ("user_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("request_id", pa.string()),
        ("premise", pa.string()),
        ("section", pa.string()),
        ("position", pa.int32()),
        ("entity_kind", pa.string()),
        ("entity_id", pa.string()),
        ("venue_id", pa.string()),
        ("item_id", pa.string()),
        ("quantity", pa.int32()),
        ("order_id", pa.string()),
        ("total", pa.float64()),
        ("lines", pa.list_(ORDER_LINE_TYPE)),
    ]
)

EVENT_COLUMNS = tuple(EVENT_SCHEMA.names)


def empty_events() -> pa.Table:
    """A table with the event schema and no rows."""
    return EVENT_SCHEMA.empty_table()


def conform(table: pa.Table) -> pa.Table:
    """Add missing columns as nulls, order them, and cast to the event schema.

    >>> conform(pa.table({"event_id": ["e1"], "type": ["click"]})).num_columns
    18
    """
    if table.schema == EVENT_SCHEMA:
        return table  # the usual case (ingested batches), and 18 casts saved per call
    columns = []
    for field in EVENT_SCHEMA:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=EVENT_SCHEMA)
