"""Conversion between domain events and the flat columnar event schema.

Every event type maps to one row of :data:`palate.events.schema.EVENT_SCHEMA`; columns that
do not apply stay null. The mapping is exact in both directions: UTC-aware timestamps (to the
microsecond), optional locations, enums and order lines all survive a round trip.

This is per-event Python by nature (domain objects are per event); bulk pipelines should stay
columnar and never materialise domain events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from palate.domain.events import (
    AddToCart,
    Click,
    EntityKind,
    Event,
    EventType,
    Impression,
    Order,
    OrderLine,
    Premise,
)
from palate.domain.geo import Location
from palate.events.schema import EVENT_SCHEMA, conform

Row = dict[str, Any]


def events_to_table(events: Sequence[Event]) -> pa.Table:
    """Encode domain events as a table with :data:`EVENT_SCHEMA`, in the given order.

    >>> from datetime import datetime, UTC
    >>> click = Click(event_id="e1", user_id="u1", ts=datetime(2024, 5, 1, tzinfo=UTC),
    ...               entity_kind=EntityKind.VENUE, entity_id="v1")
    >>> table = events_to_table([click])
    >>> table.num_rows, table.column("venue_id")[0].as_py()
    (1, 'v1')
    """
    return pa.Table.from_pylist([_encode(event) for event in events], schema=EVENT_SCHEMA)


def table_to_events(table: pa.Table) -> list[Event]:
    """Decode a table (any subset of the event columns) back into domain events.

    Raises ``ValueError`` for an unknown ``type`` or a null in a field the type requires.

    >>> from datetime import datetime, UTC
    >>> click = Click(event_id="e1", user_id="u1", ts=datetime(2024, 5, 1, tzinfo=UTC),
    ...               entity_kind=EntityKind.ITEM, entity_id="i1")
    >>> table_to_events(events_to_table([click])) == [click]
    True
    """
    return [_decode(row) for row in conform(table).to_pylist()]


def _encode(event: Event) -> Row:
    row: Row = {
        "event_id": event.event_id,
        "type": event.type.value,
        "user_id": event.user_id,
        "ts": event.ts,
    }
    if event.location is not None:
        row["lat"] = event.location.lat
        row["lon"] = event.location.lon
    row.update(_encode_specific(event))
    return row


def _encode_specific(event: Event) -> Row:
    match event:
        case Impression():
            return {
                **_encode_shown(event.entity_kind, event.entity_id),
                "request_id": event.request_id,
                "premise": event.premise.value,
                "section": event.section,
                "position": event.position,
            }
        case Click():
            return {
                **_encode_shown(event.entity_kind, event.entity_id),
                "request_id": event.request_id,
                "premise": None if event.premise is None else event.premise.value,
                "section": event.section,
            }
        case AddToCart():
            return {
                "venue_id": event.venue_id,
                "item_id": event.item_id,
                "quantity": event.quantity,
                "request_id": event.request_id,
            }
        case Order():
            return {
                "order_id": event.order_id,
                "venue_id": event.venue_id,
                "total": event.total,
                "request_id": event.request_id,
                "lines": [
                    {"item_id": ln.item_id, "quantity": ln.quantity, "unit_price": ln.unit_price}
                    for ln in event.lines
                ],
            }


def _encode_shown(kind: EntityKind, entity_id: str) -> Row:
    # The schema repeats a venue entity in venue_id so venue joins never look at the kind.
    venue_id = entity_id if kind is EntityKind.VENUE else None
    return {"entity_kind": kind.value, "entity_id": entity_id, "venue_id": venue_id}


def _required(row: Row, name: str) -> Any:
    value = row[name]
    if value is None:
        raise ValueError(f"event {row['event_id']!r} of type {row['type']!r} has no {name}")
    return value


def _location(row: Row) -> Location | None:
    lat, lon = row["lat"], row["lon"]
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise ValueError(f"event {row['event_id']!r} has only one of lat/lon")
    return Location(lat, lon)


def _common(row: Row) -> Row:
    ts: datetime = _required(row, "ts")
    return {
        "event_id": _required(row, "event_id"),
        "user_id": _required(row, "user_id"),
        # Normalise whatever tzinfo Arrow attaches to the stdlib UTC singleton.
        "ts": ts.astimezone(UTC),
        "location": _location(row),
    }


def _optional_premise(row: Row) -> Premise | None:
    return None if row["premise"] is None else Premise(row["premise"])


def _decode_impression(row: Row) -> Impression:
    return Impression(
        **_common(row),
        request_id=_required(row, "request_id"),
        premise=Premise(_required(row, "premise")),
        entity_kind=EntityKind(_required(row, "entity_kind")),
        entity_id=_required(row, "entity_id"),
        position=_required(row, "position"),
        section=row["section"],
    )


def _decode_click(row: Row) -> Click:
    return Click(
        **_common(row),
        entity_kind=EntityKind(_required(row, "entity_kind")),
        entity_id=_required(row, "entity_id"),
        request_id=row["request_id"],
        premise=_optional_premise(row),
        section=row.get("section"),
    )


def _decode_add_to_cart(row: Row) -> AddToCart:
    return AddToCart(
        **_common(row),
        venue_id=_required(row, "venue_id"),
        item_id=_required(row, "item_id"),
        quantity=_required(row, "quantity"),
        request_id=row["request_id"],
    )


def _decode_order(row: Row) -> Order:
    lines = tuple(
        OrderLine(ln["item_id"], ln["quantity"], ln["unit_price"]) for ln in row["lines"] or ()
    )
    return Order(
        **_common(row),
        order_id=_required(row, "order_id"),
        venue_id=_required(row, "venue_id"),
        lines=lines,
        total=_required(row, "total"),
        request_id=row["request_id"],
    )


_DECODERS: Mapping[EventType, Callable[[Row], Event]] = {
    EventType.IMPRESSION: _decode_impression,
    EventType.CLICK: _decode_click,
    EventType.ADD_TO_CART: _decode_add_to_cart,
    EventType.ORDER: _decode_order,
}


def _decode(row: Row) -> Event:
    try:
        decoder = _DECODERS[EventType(row["type"])]
    except ValueError:
        raise ValueError(f"event {row['event_id']!r} has unknown type {row['type']!r}") from None
    return decoder(row)
