"""The two-stage scorer: GBDT on the stage-1 top K, the rest below it, nothing dropped or moved."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from palate.domain.geo import Location
from palate.domain.requests import RankingRequest
from palate.pipeline import Candidates, Pipeline
from palate.ranking.heuristic import HeuristicScorer, HeuristicWeights
from palate.ranking.hot_swap import ModelHolder
from palate.ranking.learned import (
    LearnedScorer,
    LoadedModel,
    MissingFeaturesError,
    ModelUnavailableError,
    StaticModel,
    feature_matrix,
    load_model,
    served_model,
)
from palate.ranking.model_store import FileModelStore
from tests.ranking.gbdt_models import FEATURES, candidates, register_ranker, train_ranker

REQUEST = RankingRequest("u1", Location(60.17, 24.94), datetime(2024, 3, 1, 18, tzinfo=UTC), 20)
HEURISTIC = HeuristicScorer(HeuristicWeights())
K = 200


class Fixed:
    """A candidate source returning a prepared set."""

    name = "fixed"

    def __init__(self, prepared: Candidates) -> None:
        self.prepared = prepared

    def fetch(self, request: RankingRequest) -> Candidates:
        return self.prepared.take(slice(None))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedModel, LoadedModel]:
    """The same registered version, compiled and native."""
    store = FileModelStore(Path(tmp_path_factory.mktemp("learned")))
    version = register_ranker(store, train_ranker(seed=5, trees=50))
    return load_model(version), load_model(version, compiled=False)


def pipeline(scorer: LearnedScorer, prepared: Candidates) -> Pipeline[RankingRequest]:
    return Pipeline(name="test", sources=[Fixed(prepared)], scorers=[scorer, HEURISTIC])


def test_a_set_within_k_is_scored_entirely_by_the_model(models):
    compiled, native = models
    assert compiled.predictor.backend == "lleaves"
    prepared = candidates(np.random.default_rng(0), 150)
    scores = LearnedScorer(StaticModel(compiled), HEURISTIC, top_k=K).score(REQUEST, prepared)
    reference = native.predictor.predict(feature_matrix(prepared, FEATURES))
    np.testing.assert_allclose(scores, reference, rtol=0, atol=1e-5)


def test_two_stages_rank_the_top_k_by_model_then_the_rest_by_stage_one(models):
    compiled, native = models
    prepared = candidates(np.random.default_rng(1), 1_000)
    before = prepared.positions.copy()
    scorer = LearnedScorer(StaticModel(compiled), HEURISTIC, top_k=K)
    scores = scorer.score(REQUEST, prepared)
    np.testing.assert_array_equal(prepared.positions, before)  # nothing reordered in place
    first = HEURISTIC.score(REQUEST, prepared)
    by_first = np.argsort(-first, kind="stable")
    top, rest = by_first[:K], by_first[K:]
    reference = native.predictor.predict(feature_matrix(prepared, FEATURES, top))
    np.testing.assert_allclose(scores[top], reference, rtol=0, atol=1e-5)
    assert scores[rest].max() < scores[top].min()
    np.testing.assert_array_equal(np.argsort(-scores[rest], kind="stable"), np.arange(len(rest)))
    expected_order = np.concatenate([top[np.argsort(-reference, kind="stable")], rest])
    result = pipeline(scorer, prepared).run(REQUEST)
    assert result.scorer == "learned"
    np.testing.assert_array_equal(result.candidates.positions, prepared.positions[expected_order])


@pytest.mark.parametrize("size", [120, 1_000])
def test_the_order_handed_to_the_runner_is_the_stable_sort_of_the_scores(models, size):
    compiled, _ = models
    unique = candidates(np.random.default_rng(6), size // 4)
    prepared = unique.take(np.random.default_rng(7).integers(0, size // 4, size))  # many ties
    ranked = LearnedScorer(StaticModel(compiled), HEURISTIC, top_k=K).score_ranked(
        REQUEST, prepared
    )
    tied = len(ranked.scores) - len(np.unique(ranked.scores))
    assert tied > size // 10  # duplicated rows tie among the model-scored ones
    np.testing.assert_array_equal(ranked.order, np.argsort(-ranked.scores, kind="stable"))


def test_scores_stay_aligned_with_shuffled_candidates(models):
    compiled, _ = models
    scorer = LearnedScorer(StaticModel(compiled), HEURISTIC, top_k=50)
    prepared = candidates(np.random.default_rng(2), 300)
    shuffle = np.random.default_rng(3).permutation(300)
    np.testing.assert_array_equal(
        scorer.score(REQUEST, prepared.take(shuffle)), scorer.score(REQUEST, prepared)[shuffle]
    )
    assert scorer.score(REQUEST, prepared.take(np.zeros(300, dtype=bool))).shape == (0,)


def test_candidates_stage_one_cannot_score_sink_to_the_bottom(models):
    compiled, _ = models
    prepared = candidates(np.random.default_rng(4), 400)
    unknown = np.zeros(400, dtype=bool)
    unknown[::7] = True
    prepared.features["rating"][unknown] = np.nan
    scores = LearnedScorer(StaticModel(compiled), HEURISTIC, top_k=100).score(REQUEST, prepared)
    assert np.isfinite(scores).all()
    assert scores[unknown].max() < scores[~unknown].min()


def test_a_missing_feature_hands_over_to_the_heuristic(models):
    compiled, _ = models
    prepared = candidates(np.random.default_rng(5), 300)
    del prepared.features["embedding_3"]
    scorer = LearnedScorer(StaticModel(compiled), HEURISTIC, top_k=K)
    with pytest.raises(MissingFeaturesError, match="embedding_3"):
        scorer.score(REQUEST, prepared)
    result = pipeline(scorer, prepared).run(REQUEST)
    assert result.scorer == "heuristic"
    assert result.trace.degraded_reasons == ["learned:MissingFeaturesError"]
    assert served_model() is None


def test_the_scorer_reads_its_model_from_the_holder(models):
    compiled, _ = models
    holder = ModelHolder()
    scorer = LearnedScorer(holder, HEURISTIC, top_k=K)
    prepared = candidates(np.random.default_rng(6), 100)
    with pytest.raises(ModelUnavailableError):
        scorer.score(REQUEST, prepared)
    assert pipeline(scorer, prepared).run(REQUEST).scorer == "heuristic"
    holder.swap(compiled)
    assert pipeline(scorer, prepared).run(REQUEST).scorer == "learned"
    assert served_model() == compiled.version
    with pytest.raises(ValueError, match="top_k"):
        LearnedScorer(holder, HEURISTIC, top_k=0)
