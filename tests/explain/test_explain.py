"""Contributions add up to the scorer's score; rules are credited to the venues they touched."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from palate.ranking.compiled import LightGBMPredictor
from palate.ranking.explain import BoosterCache, explain, rules_by_venue, tree_contributions
from palate.ranking.heuristic import (
    HEURISTIC_FEATURES,
    HeuristicScorer,
    HeuristicWeights,
    heuristic_terms,
    popularity_peak,
)
from palate.ranking.learned import feature_matrix
from palate.ranking.model_store import FileModelStore
from palate.rules.config import RuleBook, parse_rule
from tests.ranking.gbdt_models import candidates, register_ranker, train_ranker
from tests.rules.fixtures import pipeline, request


def test_tree_contributions_sum_to_the_models_raw_score(tmp_path: Path) -> None:
    version = register_ranker(FileModelStore(tmp_path), train_ranker(3), precompile=False)
    rows = candidates(np.random.default_rng(4), 64)
    cache = BoosterCache()
    base, contrib = tree_contributions(version, rows, cache)
    raw = LightGBMPredictor(version.model_file).predict(feature_matrix(rows, version.features))
    assert contrib.shape == (64, len(version.features))
    np.testing.assert_allclose(base + contrib.sum(axis=1), raw, atol=1e-6, rtol=0)
    assert np.abs(contrib).sum(axis=0).max() > 0  # some feature matters


def test_boosters_load_lazily_and_once_per_version(tmp_path: Path) -> None:
    store = FileModelStore(tmp_path)
    first = register_ranker(store, train_ranker(1, trees=5), precompile=False)
    second = register_ranker(store, train_ranker(2, trees=5), precompile=False)
    cache = BoosterCache(size=1)
    assert not cache._boosters  # nothing loaded before an explanation is asked for
    assert cache.get(first) is cache.get(first)
    cache.get(second)
    assert len(cache._boosters) == 1  # the older version was evicted


def test_heuristic_terms_sum_to_the_heuristic_score() -> None:
    rows = candidates(np.random.default_rng(7), 50, HEURISTIC_FEATURES)
    rows.features["pop_orders_7d"] = np.random.default_rng(8).poisson(20, 50).astype(float)
    rows.features["cv_orders"] = np.random.default_rng(9).poisson(0.5, 50).astype(float)
    weights = HeuristicWeights(distance=1.3, rating=0.7, popularity=2.0, history=1.5)
    score = HeuristicScorer(weights).score(request(), rows)
    top = rows.take(slice(0, 10))  # explained rows are a subset; the peak is over all of them
    terms = heuristic_terms(top, weights, popularity_peak(rows))
    assert set(terms) == {"eta", "rating", "popularity", "habit"}
    np.testing.assert_allclose(sum(terms.values()), score[:10], atol=1e-12)
    explained = explain(
        "heuristic",
        top,
        [f"x{i}" for i in range(10)],
        [],
        weights=weights,
        peak=popularity_peak(rows),
    )
    assert [e.base for e in explained] == [0.0] * 10
    assert abs(sum(explained[3].contributions.values()) - score[3]) < 1e-12


def test_rules_are_credited_to_the_venues_they_moved_or_placed() -> None:
    book = RuleBook(
        config=(
            parse_rule({"id": "pin9", "kind": "pin", "target": "v9", "slot": 0}),
            parse_rule({"id": "ad7", "kind": "sponsored", "target": "v7", "slot": 2}),
            parse_rule({"id": "x3", "kind": "exclude", "targets": ["v3"]}),
        )
    )
    built, index = pipeline(book)
    result = built.run(request())
    fired = rules_by_venue(result.trace.stages)
    assert fired["v9"] == ["pin9"]
    assert fired["v7"] == ["ad7"]
    assert fired["v3"] == ["x3"]
    ids = [str(v) for v in index.venue_ids[result.candidates.positions]]
    explained = explain("by_id", result.candidates, ids, result.trace.stages)
    by_id = dict(zip(ids, explained, strict=True))
    assert by_id["v9"].rules == ["pin9"]
    assert by_id["v0"].rules == []  # shifted by the pin, but no rule targeted it
    assert by_id["v0"].contributions == {}  # a scorer without contributions
