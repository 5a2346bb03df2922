"""Item explanations (in venue, cart): their terms sum to the served score, rules are named."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from palate.catalog.item_query import ItemQuery
from palate.rules.config import parse_rule
from palate.serving.app import create_app
from palate.serving.state import ServingState, load_state
from palate.settings import Settings
from tests.rules.test_http import InProcess

WHEN = datetime(2026, 9, 18, 17, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def state(simulated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ServingState:
    """The simulated city with its features warmed from the event log (a private copy)."""
    root = tmp_path_factory.mktemp("item-explain") / "data"
    shutil.copytree(simulated_dir, root)
    return load_state(Settings(data={"dir": root}), root)


def _busiest_customer_venue(state: ServingState) -> tuple[str, str]:
    """A (customer, venue) pair with a reorder history, so the personal terms are not all 0."""
    for item_id in sorted(state.catalog.items)[:4000]:
        venue_id = state.catalog.items[item_id].venue_id
        for user_id in sorted(state.catalog.customers)[:30]:
            query = ItemQuery.at(state.editor.items, user_id, venue_id, WHEN, 20)
            result = state.venue_items.run(query)
            if result.candidates.features.get("user_item_orders", np.zeros(1)).max() > 0:
                return user_id, venue_id
    raise AssertionError("no customer has ordered anywhere in the simulated city")


@pytest.fixture(scope="module")
def pair(state: ServingState) -> tuple[str, str]:
    return _busiest_customer_venue(state)


def _items(client: InProcess, venue_id: str, user_id: str) -> list[dict[str, Any]]:
    body = {"user_id": user_id, "time": WHEN.isoformat(), "limit": 15, "explain": True}
    reply = client.post(f"/v1/venues/{venue_id}/items", json=body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["scorer"] == "item_heuristic"
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def _sum(item: dict[str, Any]) -> float:
    explanation = item["explanation"]
    return float(explanation["base"] + sum(explanation["contributions"].values()))


def test_in_venue_terms_sum_to_the_score_and_name_the_rules(
    state: ServingState, pair: tuple[str, str]
) -> None:
    user_id, venue_id = pair
    client = InProcess(create_app(Settings(), state))
    plain = _items(client, venue_id, user_id)
    assert all(abs(_sum(i) - i["score"]) < 1e-5 for i in plain)  # the response rounds to 1e-6
    terms = {k for i in plain for k, v in i["explanation"]["contributions"].items() if v}
    assert {"favourite", "popularity"} <= terms
    assert not any(i["explanation"]["rules"] for i in plain)
    last, pinned = plain[-1]["item_id"], plain[-2]["item_id"]
    state.business_rules.put(
        parse_rule(
            {
                "id": "lift",
                "kind": "boost",
                "premise": "venue_items",
                "targets": [last],
                "factor": 40.0,
            }
        )
    )
    state.business_rules.put(
        parse_rule(
            {"id": "pin-it", "kind": "pin", "premise": "venue_items", "target": pinned, "slot": 0}
        )
    )
    try:
        ruled = {i["item_id"]: i for i in _items(client, venue_id, user_id)}
    finally:
        state.business_rules.delete("lift")
        state.business_rules.delete("pin-it")
    assert all(abs(_sum(i) - i["score"]) < 1e-5 for i in ruled.values())
    assert ruled[last]["explanation"]["rules"] == ["lift"]
    assert ruled[last]["explanation"]["contributions"]["boost"] > 0
    assert "pin-it" in ruled[pinned]["explanation"]["rules"]
    assert "lift" not in ruled[pinned]["explanation"]["rules"]


def test_cart_terms_sum_to_the_score_within_1e9_though_only_the_head_is_returned(
    state: ServingState, pair: tuple[str, str]
) -> None:
    from palate.ranking.explain import explain_items

    user_id, venue_id = pair
    menu = [i.id for i in state.catalog.items.values() if i.venue_id == venue_id]
    query = ItemQuery.at(state.editor.items, user_id, venue_id, WHEN, 3, (menu[0],))
    result = state.cart.run(query)
    assert result.scorer == "cart_heuristic"
    assert 0 < len(result.candidates) <= 3
    explained = explain_items(result.scorer, query, result.candidates, result.trace.stages)
    scores = result.candidates.scores
    assert scores is not None
    sums = [e.base + sum(e.contributions.values()) for e in explained]
    np.testing.assert_allclose(sums, scores, atol=1e-9, rtol=0)
    assert {"co_purchase", "complement"} <= set(explained[0].contributions)


def test_a_tail_of_the_menu_still_sums_with_the_scorers_normaliser(
    state: ServingState, pair: tuple[str, str]
) -> None:
    from palate.ranking.explain import explain_items

    user_id, venue_id = pair
    query = ItemQuery.at(state.editor.items, user_id, venue_id, WHEN, 50)
    result = state.venue_items.run(query)
    ranked = result.candidates
    pop = ranked.feature("item_pop")
    tail = ranked.take((pop > 0) & (pop < pop.max()))  # sold, but not the venue's best seller
    assert len(tail) >= 2
    assert tail.scores is not None
    explained = explain_items(result.scorer, query, tail, result.trace.stages)
    sums = [sum(e.contributions.values()) for e in explained]
    np.testing.assert_allclose(sums, tail.scores, atol=1e-9, rtol=0)
    alone = explain_items(result.scorer, query, tail, [])  # their own peak: wrong sums
    assert (
        max(
            abs(sum(e.contributions.values()) - s) for e, s in zip(alone, tail.scores, strict=False)
        )
        > 1e-6
    )


def test_a_fallback_scorer_explains_itself(state: ServingState, pair: tuple[str, str]) -> None:
    from palate.ranking.explain import explain_items

    user_id, venue_id = pair
    query = ItemQuery.at(state.editor.items, user_id, venue_id, WHEN, 5)
    returned = state.venue_items.run(query).candidates.take(slice(0, 5))
    returned.scores = -returned.positions.astype(np.float64)  # as the menu-order scorer ranks
    explained = explain_items("menu_order", query, returned, [])
    assert [e.contributions["menu_order"] for e in explained] == returned.scores.tolist()
    assert explain_items("unknown", query, returned, [])[0].contributions == {}
