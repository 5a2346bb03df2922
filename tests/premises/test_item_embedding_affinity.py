"""In venue: the customer × item embedding affinity lifts the items the customer's taste favours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from palate.catalog.item_query import ItemQuery
from palate.catalog.store import load_catalog
from palate.events.log import EventLog
from palate.pipeline import Pipeline
from palate.premises.venue_items import venue_items_pipeline
from palate.ranking.item_embedding import ITEM_EMBEDDING_SCORE
from palate.rules.alcohol import AlcoholRule
from palate.serving.state import ServingState, build_state
from palate.settings import Settings
from palate.simulate.write import run_simulation
from palate.training.embeddings import Embeddings, fit_item_factors

HELD_OUT = timedelta(days=4)


@dataclass(frozen=True)
class Split:
    """Features and item embeddings of the days before ``cut``; the orders from ``cut`` on."""

    state: ServingState
    factors: Embeddings
    with_factors: Pipeline[ItemQuery]
    without: Pipeline[ItemQuery]
    held_out: list[dict[str, object]]
    cut: datetime


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Split:
    root = tmp_path_factory.mktemp("items-city")
    simulation = {"seed": 11, "customers": 1500, "days": 21, "cities": 1}
    run_simulation(Settings(data={"dir": root}, simulation=simulation))
    catalog, events = load_catalog(root / "catalog"), EventLog(root / "events").read()
    ts = events.column("ts")
    cut = pc.max(ts).as_py() - HELD_OUT
    before = events.filter(pc.less(ts, pa.scalar(cut, ts.type)))
    after = events.filter(pc.greater_equal(ts, pa.scalar(cut, ts.type)))
    factors = fit_item_factors(before, cut)
    assert factors is not None
    settings = Settings()
    state = build_state(catalog, settings)
    state.features.ingest(before)
    state.features.refresh_snapshots(before, cut)
    alcohol = AlcoholRule(catalog, settings.rules.alcohol_hours, settings.rules.alcohol_markets)
    with_factors = venue_items_pipeline(state.features, alcohol, item_factors=lambda: factors)
    without = venue_items_pipeline(state.features, alcohol)
    orders = after.filter(pc.equal(after.column("type"), "order")).to_pylist()
    return Split(state, factors, with_factors, without, orders, cut)


def _ranked(split: Split, pipeline: Pipeline[ItemQuery], user: str, venue: str) -> list[str]:
    query = ItemQuery.at(split.state.editor.items, user, venue, split.cut, 500)
    ids: list[str] = query.columns.item_ids[pipeline.run(query).candidates.positions].tolist()
    return ids


def test_item_affinity_ranks_the_items_ordered_next_higher(split: Split) -> None:
    known = set(split.factors.user_ids.tolist())
    recall: dict[str, list[float]] = {"with": [], "without": []}
    for order in split.held_out:
        user, venue = str(order["user_id"]), str(order["venue_id"])
        if user not in known:
            continue
        lines = order["lines"]
        assert isinstance(lines, list)
        bought = {line["item_id"] for line in lines}
        for name, pipeline in (("with", split.with_factors), ("without", split.without)):
            top = set(_ranked(split, pipeline, user, venue)[:5])
            recall[name].append(len(bought & top) / min(5, len(bought)))
    assert len(recall["with"]) >= 300
    # Held-out orders of customers the embeddings know: their items rank higher with the term.
    assert np.mean(recall["with"]) > np.mean(recall["without"]) + 0.005


def test_the_item_the_customer_is_closest_to_moves_up_never_down(split: Split) -> None:
    moved = []
    for order in split.held_out[:150]:
        user, venue = str(order["user_id"]), str(order["venue_id"])
        query = ItemQuery.at(split.state.editor.items, user, venue, split.cut, 500)
        ranked = split.with_factors.run(query).candidates
        if ITEM_EMBEDDING_SCORE not in ranked.features:
            continue  # a customer without a vector: no term at all
        ids = query.columns.item_ids[ranked.positions].tolist()
        closest = ids[int(np.argmax(ranked.features[ITEM_EMBEDDING_SCORE]))]
        moved.append(_ranked(split, split.without, user, venue).index(closest) - ids.index(closest))
    assert len(moved) >= 50
    assert min(moved) >= 0
    assert max(moved) > 0


def test_without_factors_or_a_customer_vector_the_ranking_is_unchanged(split: Split) -> None:
    order = split.held_out[0]
    venue = str(order["venue_id"])
    stranger = _ranked(split, split.with_factors, "never-seen", venue)
    assert stranger == _ranked(split, split.without, "never-seen", venue)
    query = ItemQuery.at(split.state.editor.items, "never-seen", venue, split.cut, 500)
    result = split.with_factors.run(query)
    assert ITEM_EMBEDDING_SCORE not in result.candidates.features
    assert not result.trace.degraded
