"""Each rule kind on a ranking whose unruled order is v0, v1, ..., v9."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from pydantic import ValidationError

from palate.rules.config import RuleBook, parse_rule
from palate.rules.placement import SPONSORED
from tests.rules.fixtures import BRANDS, ESP, NOON, pipeline, ranked, request


def book(*rules: dict[str, object]) -> RuleBook:
    return RuleBook(config=tuple(parse_rule(r) for r in rules))


def test_pin_puts_the_venue_at_its_slot_and_traces_the_move() -> None:
    built, index = pipeline(book({"id": "p", "kind": "pin", "target": "v9", "slot": 0}))
    result = built.run(request())
    ids = index.venue_ids[result.candidates.positions].tolist()
    assert ids[0] == "v9"
    assert ids[1:] == [f"v{i}" for i in range(9)]
    pin = next(s for s in result.trace.stages if s.stage == "pin")
    assert pin.details == {"moved": [["v9", 9, 0]], "rules": ["p"]}


def test_bury_drops_and_boost_lifts() -> None:
    assert ranked(book({"id": "b", "kind": "boost", "targets": ["v0"], "factor": 0.01}))[-1] == "v0"
    assert ranked(book({"id": "b", "kind": "boost", "targets": ["v8"], "factor": 3}))[0] == "v8"


def test_sponsored_slot_is_reserved_and_marked() -> None:
    built, index = pipeline(book({"id": "ad", "kind": "sponsored", "target": "v7", "slot": 2}))
    result = built.run(request())
    ids = index.venue_ids[result.candidates.positions].tolist()
    assert ids[2] == "v7"
    marked = result.candidates.features[SPONSORED]
    assert np.flatnonzero(marked).tolist() == [2]


def test_sponsored_does_not_displace_a_pin() -> None:
    rules = book(
        {"id": "p", "kind": "pin", "target": "v9", "slot": 2},
        {"id": "ad", "kind": "sponsored", "target": "v7", "slot": 2},
    )
    ids = ranked(rules)
    assert ids[2] == "v9"
    assert ids[3] == "v7"


def test_diversity_caps_one_brand_in_the_top_five() -> None:
    rule = {"id": "d", "kind": "diversity", "by": "brand", "max_per": 1, "top_n": 5}
    ids = ranked(book(rule))
    brands = [BRANDS[int(v[1:])] for v in ids[:5]]
    named = [b for b in brands if b is not None]
    assert len(named) == len(set(named))
    assert sorted(ids) == sorted(f"v{i}" for i in range(10))  # nothing lost
    assert ids[0] == "v0"  # the best still leads


def test_exclusion_removes_and_is_traced() -> None:
    built, index = pipeline(book({"id": "x", "kind": "exclude", "targets": ["v3", "v4"]}))
    result = built.run(request())
    ids = index.venue_ids[result.candidates.positions].tolist()
    assert "v3" not in ids
    assert "v4" not in ids
    assert len(ids) == 8
    stage = next(s for s in result.trace.stages if s.stage == "exclude")
    assert stage.details is not None
    assert sorted(stage.details["removed"]) == ["v3", "v4"]  # type: ignore[arg-type]


def test_validity_window_is_honoured_at_request_time() -> None:
    expired = {
        "id": "old",
        "kind": "boost",
        "targets": ["v9"],
        "factor": 50,
        "ends_at": (NOON - timedelta(hours=1)).isoformat(),
    }
    assert ranked(book(expired))[0] == "v0"
    future = {**expired, "starts_at": (NOON + timedelta(hours=1)).isoformat(), "ends_at": None}
    assert ranked(book(future))[0] == "v0"
    assert ranked(book(future), when=NOON + timedelta(hours=2))[0] == "v9"


def test_city_override_beats_market_and_stays_in_its_city() -> None:
    assert (
        ranked(book({"id": "promo", "kind": "pin", "market": "fi", "target": "v5", "slot": 0}))[0]
        == "v5"
    )
    market_then_city = book(
        {"id": "promo", "kind": "pin", "market": "fi", "target": "v5", "slot": 0},
        {"id": "promo", "kind": "pin", "city": "hel", "target": "v8", "slot": 0},
    )
    assert ranked(market_then_city)[0] == "v8"
    assert ranked(market_then_city, where=ESP)[0] == "e0"  # Espoo: market pin names v5, absent
    switched_off = book(
        {"id": "promo", "kind": "pin", "market": "fi", "target": "e5", "slot": 0},
        {"id": "promo", "kind": "pin", "city": "hel", "target": "v8", "slot": 0, "enabled": False},
    )
    assert ranked(switched_off, where=ESP)[0] == "e5"
    assert ranked(switched_off)[0] == "v0"


def test_rules_for_another_market_or_premise_do_not_apply() -> None:
    assert (
        ranked(book({"id": "p", "kind": "pin", "market": "se", "target": "v9", "slot": 0}))[0]
        == "v0"
    )
    other = {"id": "p", "kind": "pin", "premise": "cart", "target": "v9", "slot": 0}
    assert ranked(book(other))[0] == "v0"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"id": "p", "kind": "pin", "target": "v1", "slot": -1}, "slot"),
        ({"id": "b", "kind": "boost", "targets": [], "factor": 2}, "targets"),
        ({"id": "b", "kind": "boost", "targets": ["v1"], "factor": 0}, "factor"),
        ({"id": "d", "kind": "diversity", "by": "colour", "max_per": 1, "top_n": 5}, "by"),
        (
            {"id": "p", "kind": "pin", "target": "v1", "slot": 0, "market": "fi", "city": "hel"},
            "city",
        ),
        (
            {
                "id": "p",
                "kind": "pin",
                "target": "v1",
                "slot": 0,
                "starts_at": "2026-01-02T00:00:00Z",
                "ends_at": "2026-01-01T00:00:00Z",
            },
            "ends_at",
        ),
    ],
)
def test_invalid_rules_name_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        parse_rule(raw)
