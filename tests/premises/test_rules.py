"""In-process pipeline checks: the alcohol rule and the per-category cap never give way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from palate.catalog.item_query import ItemQuery
from palate.domain.catalog import Catalog
from palate.serving.state import ServingState, build_state
from palate.settings import Settings

INSIDE = datetime(2026, 9, 18, 17, 30, tzinfo=UTC)  # 20:30 Helsinki
OUTSIDE = datetime(2026, 9, 18, 20, 30, tzinfo=UTC)  # 23:30 Helsinki


def _state(catalog: Catalog, **rules: object) -> ServingState:
    return build_state(catalog, Settings(rules=rules))


def _alcohol_venues(catalog: Catalog) -> list[str]:
    return sorted({i.venue_id for i in catalog.items.values() if "alcohol" in i.tags})[:20]


def _shown(state: ServingState, venue_id: str, when: datetime, *, cart: bool) -> list[str]:
    pipeline = state.cart if cart else state.venue_items
    query = ItemQuery.at(state.editor.items, "rule-user", venue_id, when, 500)
    ids: list[str] = query.columns.item_ids[pipeline.run(query).candidates.positions].tolist()
    return ids


def _alcohol_shown(state: ServingState, catalog: Catalog, when: datetime, *, cart: bool) -> int:
    return sum(
        "alcohol" in catalog.items[i].tags
        for v in _alcohol_venues(catalog)
        for i in _shown(state, v, when, cart=cart)
    )


@pytest.mark.parametrize("cart", [False, True])
def test_alcohol_only_inside_the_hours_of_an_allowed_market(catalog: Catalog, cart: bool) -> None:
    assert _alcohol_venues(catalog), "the simulated city sells alcohol somewhere"
    allowed = _state(catalog, alcohol_hours="09:00-21:00", alcohol_markets=["fi"])
    assert _alcohol_shown(allowed, catalog, INSIDE, cart=cart) > 0  # the rule can let it through
    assert _alcohol_shown(allowed, catalog, OUTSIDE, cart=cart) == 0
    elsewhere = _state(catalog, alcohol_hours="00:00-24:00", alcohol_markets=["se"])
    assert _alcohol_shown(elsewhere, catalog, INSIDE, cart=cart) == 0


@pytest.mark.parametrize("cap", [1, 2])
def test_the_cart_never_exceeds_the_per_category_cap(catalog: Catalog, cap: int) -> None:
    state = _state(catalog, cart_max_per_category=cap)
    venues = sorted({i.venue_id for i in catalog.items.values()})[:40]
    longest = 0
    for venue_id in venues:
        first = next(i for i in catalog.items.values() if i.venue_id == venue_id)
        query = ItemQuery.at(state.editor.items, "cap-user", venue_id, INSIDE, 6, (first.id,))
        rows = state.cart.run(query).candidates.positions
        categories = query.columns.category.codes[rows].tolist()
        assert max((categories.count(c) for c in categories), default=0) <= cap
        assert first.id not in query.columns.item_ids[rows].tolist()
        longest = max(longest, len(rows))
    assert longest > cap  # the cap diversifies; it does not just return one item
