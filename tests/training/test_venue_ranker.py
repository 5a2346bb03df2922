"""Train → register → promote → the learned scorer ranks; the evaluation report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from palate.cli_models import serving_features
from palate.domain.geo import Location
from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates
from palate.premises.discovery import DISCOVERY_FEATURES
from palate.ranking.heuristic import HeuristicScorer, HeuristicWeights
from palate.ranking.learned import LearnedScorer, StaticModel, load_model, served_model
from palate.ranking.model_store import FileModelStore
from palate.settings import load_settings
from palate.simulate.oracle import load_oracle
from palate.simulate.write import run_simulation
from palate.training.venue_ranker.baselines import BASELINES
from palate.training.venue_ranker.report import markdown, write_report
from palate.training.venue_ranker.train import RankerParams, TrainResult
from palate.training.venue_ranker.workflow import EvaluationRun, Workspace, evaluate, train

PARAMS = RankerParams(num_trees=60, early_stopping_rounds=20)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("city")
    settings = load_settings(None)
    settings.data.dir = root
    settings.simulation = settings.simulation.model_copy(update={"customers": 600, "days": 14})
    run_simulation(settings)
    return root


@pytest.fixture(scope="module")
def trained(data_dir: Path) -> TrainResult:
    store = FileModelStore.in_data_dir(data_dir)
    result, _ = train(
        Workspace(data_dir), store, name="venue_ranker", params=PARAMS, precompile=False
    )
    return result


@pytest.fixture(scope="module")
def run(data_dir: Path, trained: TrainResult) -> EvaluationRun:
    store = FileModelStore.in_data_dir(data_dir)
    oracle = load_oracle(data_dir)
    return evaluate(Workspace(data_dir), store, name="venue_ranker", params=PARAMS, oracle=oracle)


def test_training_registers_a_promotable_model(data_dir: Path, trained: TrainResult) -> None:
    version = trained.version
    assert version.features == DISCOVERY_FEATURES
    assert 0.0 < version.metrics["ndcg@10"] <= 1.0
    assert version.training_start < version.training_end
    assert len(version.data_hash) == 16
    store = FileModelStore.in_data_dir(data_dir)
    promoted = store.promote(
        "venue_ranker", version.version, serving_features=serving_features(), max_ndcg_drop=0.01
    )
    assert store.current("venue_ranker") == promoted


def test_learned_scorer_ranks_a_logged_request(data_dir: Path, trained: TrainResult) -> None:
    table = Workspace(data_dir).table()
    first = table.frame["request_id"][-1]
    rows = table.frame.filter(pl.col("request_id") == first)
    candidates = Candidates(
        rows["pos"].to_numpy().astype(np.int32),
        {name: rows[name].to_numpy().astype(np.float64) for name in DISCOVERY_FEATURES},
    )
    loaded = load_model(trained.version, compiled=False)
    scorer = LearnedScorer(StaticModel(loaded), HeuristicScorer(HeuristicWeights()), top_k=5)
    request = RankingRequest(
        rows["user_id"][0], Location(rows["lat"][0], rows["lon"][0]), rows["ts"][0], limit=10
    )
    scores = scorer.score(request, candidates)
    assert served_model() == trained.version
    assert scores.shape == (rows.height,)
    top = np.argsort(-scores)[:5]
    direct = loaded.predictor.predict(
        table.frame.filter(pl.col("request_id") == first).select(DISCOVERY_FEATURES).to_numpy()
    )
    np.testing.assert_allclose(scores[top], direct[top], rtol=1e-9)
    assert len(np.unique(scores)) > 1


def test_report_lists_every_method_and_the_gap(run: EvaluationRun, tmp_path: Path) -> None:
    evaluation = run.evaluation
    methods = evaluation.overall["method"].to_list()
    assert set(methods) == {*BASELINES, "learned", "oracle"}
    assert evaluation.best_baseline in BASELINES
    assert "gap_closed" in evaluation.overall.columns
    assert evaluation.metric("oracle", "gap_closed") == pytest.approx(1.0)
    text = markdown(evaluation, "palate evaluate")
    for method in methods:
        assert f"| {method} |" in text
    assert "gap closed" in text
    for segment in ("venue", "customer", "city"):
        assert f"NDCG@10 by {segment}" in text
    report, chart = write_report(evaluation, tmp_path)
    assert report.read_text(encoding="utf-8") == markdown(evaluation)
    assert chart.stat().st_size > 1_000


def test_learned_beats_popularity(run: EvaluationRun) -> None:
    evaluation = run.evaluation
    assert run.trained is None  # the held-out model trained above was reused
    assert evaluation.metric("learned") > evaluation.metric("popularity")
    assert evaluation.metric("oracle") > evaluation.metric("popularity")
