"""In venue: "Popular now" and the item ranking follow popularity at the venue's local hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from palate.catalog.item_query import ItemQuery
from palate.domain.catalog import Catalog
from palate.premises.venue_items import POPULAR_NOW, sections
from palate.serving.state import ServingState, build_state
from palate.settings import Settings
from tests.features.events import order, table

DAY = timedelta(days=1)


def _venue(catalog: Catalog) -> str:
    """A venue with a menu long enough that "Popular now" has to choose."""
    counts: dict[str, int] = {}
    for item in catalog.items.values():
        if item.available:
            counts[item.venue_id] = counts.get(item.venue_id, 0) + 1
    return min(v for v, n in counts.items() if n >= 8)


def _local(catalog: Catalog, venue_id: str, hour: int) -> datetime:
    zone = ZoneInfo(catalog.timezone_of(catalog.venues[venue_id]))
    return datetime(2026, 9, 18, hour, 0, tzinfo=zone).astimezone(UTC)


def _fed_state(catalog: Catalog, venue_id: str, breakfast: str, dinner: list[str]) -> ServingState:
    """Two weeks of orders: ``breakfast`` at 08:00 (once at 20:00), ``dinner`` items at 20:00."""
    state = build_state(catalog, Settings())
    events = []
    for day in range(1, 15):
        morning = _local(catalog, venue_id, 8) - day * DAY
        evening = _local(catalog, venue_id, 20) - day * DAY
        events.append(order(f"b{day}", venue_id, morning, items=[(breakfast, 2)]))
        events.append(order(f"d{day}", venue_id, evening, items=[(i, 1) for i in dinner]))
    events.append(order("once", venue_id, _local(catalog, venue_id, 20) - DAY, [(breakfast, 1)]))
    state.features.ingest(table(events))
    return state


def _page(state: ServingState, venue_id: str, at: datetime) -> tuple[list[str], list[str]]:
    """The ranked item ids and the "Popular now" section of an anonymous visit."""
    query = ItemQuery.at(state.editor.items, "new-visitor", venue_id, at, 500)
    ranked = state.venue_items.run(query).candidates
    ids: list[str] = query.columns.item_ids[ranked.positions].tolist()
    popular = next(
        (s.item_ids for s in sections(query.columns, ranked) if s.title == POPULAR_NOW), []
    )
    return ids, popular


@pytest.fixture(scope="module")
def breakfast_case(catalog: Catalog) -> tuple[ServingState, str, str, list[str]]:
    venue_id = _venue(catalog)
    menu = [i.id for i in catalog.items.values() if i.venue_id == venue_id and i.available]
    breakfast, dinner = menu[0], menu[1:4]
    return _fed_state(catalog, venue_id, breakfast, dinner), venue_id, breakfast, dinner


def test_an_item_ordered_at_breakfast_is_popular_at_eight_not_at_eight_pm(
    catalog: Catalog, breakfast_case: tuple[ServingState, str, str, list[str]]
) -> None:
    state, venue_id, breakfast, dinner = breakfast_case
    _, at_eight = _page(state, venue_id, _local(catalog, venue_id, 8))
    _, at_twenty = _page(state, venue_id, _local(catalog, venue_id, 20))
    assert at_eight[:1] == [breakfast]
    assert not set(dinner) & set(at_eight)
    assert breakfast not in at_twenty
    assert set(at_twenty) == set(dinner)


def test_the_hour_moves_the_item_ranking(
    catalog: Catalog, breakfast_case: tuple[ServingState, str, str, list[str]]
) -> None:
    state, venue_id, breakfast, dinner = breakfast_case
    morning, _ = _page(state, venue_id, _local(catalog, venue_id, 8))
    evening, _ = _page(state, venue_id, _local(catalog, venue_id, 20))
    assert morning.index(breakfast) < min(morning.index(i) for i in dinner)
    assert evening.index(breakfast) > max(evening.index(i) for i in dinner)


def test_without_the_hour_feature_popular_now_is_all_day(catalog: Catalog) -> None:
    venue_id = _venue(catalog)
    menu = [i.id for i in catalog.items.values() if i.venue_id == venue_id and i.available]
    state = build_state(catalog, Settings(features={"item_hour_popularity": {"enabled": False}}))
    at = _local(catalog, venue_id, 8) - DAY
    state.features.ingest(table([order("a", venue_id, at, items=[(menu[2], 3), (menu[5], 1)])]))
    _, popular = _page(state, venue_id, _local(catalog, venue_id, 20))
    assert popular == [menu[2], menu[5]]
