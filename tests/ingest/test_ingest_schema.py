"""Validated JSON events become event-log rows that decode to the same domain events."""

from __future__ import annotations

from datetime import UTC, datetime

from palate.domain import Location
from palate.domain.events import AddToCart, Click, EntityKind, Impression, Order, OrderLine, Premise
from palate.events.codec import table_to_events
from palate.events.ingest_schema import check_events, rows_to_table
from palate.events.schema import EVENT_SCHEMA
from tests.ingest.samples import add_to_cart, click, impression, order

WHEN = datetime(2026, 9, 18, 14, 30, tzinfo=UTC)  # 17:30 at +03:00


def test_rows_decode_to_the_domain_events_the_json_describes() -> None:
    events = [
        impression("e1"),
        click("e2", premise="venue", request_id="r9"),
        add_to_cart("e3", quantity=1),
        {k: v for k, v in add_to_cart("e4").items() if k != "quantity"},
        order("e5", order_id="o5", location=None),
    ]
    checked = check_events(events)
    assert checked.errors == {}
    table = rows_to_table(checked.rows)
    assert table.schema == EVENT_SCHEMA
    assert table_to_events(table) == [
        Impression(
            event_id="e1", user_id="u1", ts=WHEN, location=Location(60.17, 24.94),
            request_id="r1", premise=Premise.DISCOVERY, entity_kind=EntityKind.VENUE,
            entity_id="v1", position=3, section="top",
        ),
        Click(
            event_id="e2", user_id="u1", ts=WHEN, entity_kind=EntityKind.ITEM, entity_id="i1",
            request_id="r9", premise=Premise.VENUE,
        ),
        AddToCart(event_id="e3", user_id="u2", ts=WHEN, venue_id="v1", item_id="i1", quantity=1),
        AddToCart(event_id="e4", user_id="u2", ts=WHEN, venue_id="v1", item_id="i1", quantity=1),
        Order(
            event_id="e5", user_id="u3", ts=WHEN, order_id="o5", venue_id="v1",
            lines=(OrderLine("i1", 2, 10.5),), total=21.0,
        ),
    ]  # fmt: skip
    assert table.column("venue_id").to_pylist() == ["v1", None, "v1", "v1", "v1"]
