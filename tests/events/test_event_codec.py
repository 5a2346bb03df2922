"""Domain events <-> the columnar event schema: exact round trips and strict decoding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from palate.domain.events import Click, EntityKind, Event, EventType
from palate.events import EVENT_SCHEMA, events_to_table, table_to_events
from tests.events.samples import sample_events

EVENTS = sample_events()


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_id)
def test_each_event_survives_a_round_trip(event: Event) -> None:
    table = events_to_table([event])

    assert table.schema == EVENT_SCHEMA
    assert table.column("type")[0].as_py() == event.type.value
    assert table_to_events(table) == [event]


def test_a_mixed_batch_keeps_its_order_and_every_field() -> None:
    decoded = table_to_events(events_to_table(EVENTS))

    assert decoded == EVENTS
    assert [type(e) for e in decoded] == [type(e) for e in EVENTS]
    assert [e.location for e in decoded] == [e.location for e in EVENTS]


def test_timestamps_are_stored_as_utc_instants_to_the_microsecond() -> None:
    table = events_to_table(EVENTS)
    decoded = table_to_events(table)

    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    for original, back in zip(EVENTS, decoded, strict=True):
        assert back.ts.utcoffset() == timedelta(0)
        assert back.ts.tzinfo is UTC
        assert back.ts == original.ts
        assert back.ts.microsecond == original.ts.astimezone(UTC).microsecond
    helsinki_click = next(e for e in decoded if e.event_id == "clk-1")
    assert (helsinki_click.ts.day, helsinki_click.ts.hour) == (1, 22)


def test_enums_come_back_as_enum_members() -> None:
    for event in table_to_events(events_to_table(EVENTS)):
        assert isinstance(event.type, EventType)
        if isinstance(event, Click):
            assert isinstance(event.entity_kind, EntityKind)


def test_venue_entities_repeat_in_venue_id_and_others_do_not() -> None:
    rows = events_to_table(EVENTS).to_pylist()
    by_id = {row["event_id"]: row for row in rows}

    assert by_id["imp-1"]["venue_id"] == by_id["imp-1"]["entity_id"] == "v1"
    assert by_id["clk-1"]["venue_id"] == "v1"
    assert by_id["imp-2"]["venue_id"] is None
    assert by_id["clk-2"]["venue_id"] is None
    assert by_id["atc-1"]["entity_id"] is None


def test_order_lines_are_a_list_of_structs() -> None:
    rows = {row["event_id"]: row for row in events_to_table(EVENTS).to_pylist()}

    assert rows["ord-1"]["lines"] == [
        {"item_id": "i9", "quantity": 3, "unit_price": 4.5},
        {"item_id": "i2", "quantity": 1, "unit_price": 12.25},
    ]
    assert rows["ord-2"]["lines"] == []
    assert rows["clk-1"]["lines"] is None


def test_no_events_make_an_empty_table_with_the_schema() -> None:
    table = events_to_table([])

    assert table.num_rows == 0
    assert table.schema == EVENT_SCHEMA
    assert table_to_events(table) == []


def test_decoding_accepts_a_subset_of_columns() -> None:
    ts = datetime(2024, 5, 1, 12, tzinfo=UTC)
    table = pa.table(
        {
            "event_id": ["e1"],
            "type": ["click"],
            "user_id": ["u1"],
            "ts": pa.array([ts], pa.timestamp("us", tz="UTC")),
            "entity_kind": ["brand"],
            "entity_id": ["b1"],
        }
    )

    [click] = table_to_events(table)

    assert click == Click(
        event_id="e1", user_id="u1", ts=ts, entity_kind=EntityKind.BRAND, entity_id="b1"
    )


def _one_row(**overrides: object) -> pa.Table:
    row: dict[str, object] = {
        "event_id": "e1",
        "type": "add_to_cart",
        "user_id": "u1",
        "ts": datetime(2024, 5, 1, tzinfo=UTC),
        "venue_id": "v1",
        "item_id": "i1",
        "quantity": 1,
    }
    row.update(overrides)
    return pa.Table.from_pylist([row], schema=EVENT_SCHEMA)


def test_a_well_formed_row_decodes() -> None:
    assert len(table_to_events(_one_row())) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"type": "purchase"}, "unknown type"),
        ({"type": None}, "unknown type"),
        ({"item_id": None}, "no item_id"),
        ({"ts": None}, "no ts"),
        ({"lat": 60.0}, "only one of lat/lon"),
        ({"type": "impression"}, "no request_id"),
    ],
)
def test_malformed_rows_are_rejected(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        table_to_events(_one_row(**overrides))
