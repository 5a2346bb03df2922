"""``emb_score``: the embedding affinity, point in time in training, shipped with the model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from palate.catalog.index import VenueIndex
from palate.domain.geo import Location
from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates
from palate.premises.discovery import DISCOVERY_FEATURES
from palate.ranking.embedding_features import EMBEDDINGS_DIR, EmbeddingAffinity, affinity, rows_of
from palate.ranking.learned import load_model
from palate.ranking.model_store import FileModelStore
from palate.settings import load_settings
from palate.simulate import SimulationConfig, SimulationResult, simulate
from palate.simulate.write import run_simulation
from palate.training.embeddings import Embeddings
from palate.training.venue_ranker.dataset import build_training_table, fit_venue_factors
from palate.training.venue_ranker.train import RankerParams, TrainResult
from palate.training.venue_ranker.workflow import Workspace, train

STEP = timedelta(hours=3)


@pytest.fixture(scope="module")
def world() -> SimulationResult:
    return simulate(SimulationConfig(seed=7, customers=300, days=6))


@pytest.fixture(scope="module")
def table(world: SimulationResult) -> pl.DataFrame:
    return build_training_table(world.catalog, world.events, step=STEP).frame


def _day_start(moment: object) -> datetime:
    assert isinstance(moment, datetime)
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _before(events: pa.Table, moment: datetime) -> pa.Table:
    return events.filter(pc.less(events.column("ts"), pa.scalar(moment, events.column("ts").type)))


def test_emb_score_is_a_discovery_feature_and_mostly_informative(table: pl.DataFrame) -> None:
    assert "emb_score" in DISCOVERY_FEATURES
    first_day = _day_start(table["ts"].min())
    day_one = table.filter(pl.col("ts") < first_day + timedelta(days=1))["emb_score"]
    later = table.filter(pl.col("ts") >= first_day + timedelta(days=2))["emb_score"]
    assert (day_one == 0).all()  # nothing happened before the first day: nothing to embed
    assert (later != 0).mean() > 0.1  # type: ignore[operator]  # new customers score 0


def test_emb_score_equals_factors_fitted_on_the_days_before(
    world: SimulationResult, table: pl.DataFrame
) -> None:
    day = _day_start(table["ts"].min()) + timedelta(days=3)
    request = table.filter((pl.col("ts") >= day) & (pl.col("emb_score") != 0)).row(0, named=True)
    rows = table.filter(pl.col("request_id") == request["request_id"]).sort("position")
    factors = fit_venue_factors(_before(world.events, day), day)
    assert factors is not None
    expected = factors.scores(request["user_id"], rows["venue_id"].to_list())
    np.testing.assert_allclose(rows["emb_score"].to_numpy(), expected, rtol=1e-9)


def test_emb_score_ignores_every_later_event(world: SimulationResult, table: pl.DataFrame) -> None:
    cut = _day_start(table["ts"].min()) + timedelta(days=4)
    truncated = build_training_table(world.catalog, _before(world.events, cut), step=STEP).frame
    key = ["request_id", "venue_id"]
    both = truncated.select(*key, "emb_score").join(
        table.select(*key, "emb_score"), on=key, suffix="_full"
    )
    assert both.height > 1_000
    assert (both["emb_score"] != 0).sum() > 100
    np.testing.assert_array_equal(both["emb_score"].to_numpy(), both["emb_score_full"].to_numpy())


def _request(user_id: str) -> RankingRequest:
    return RankingRequest(user_id, Location(60.17, 24.94), datetime(2026, 1, 1, tzinfo=UTC), 10)


def test_hydrator_scores_known_pairs_and_fails_open(world: SimulationResult) -> None:
    index = VenueIndex.build(world.catalog)
    factors = fit_venue_factors(world.events, pc.max(world.events.column("ts")).as_py())
    assert factors is not None
    current: list[Embeddings | None] = [None]
    hydrator = EmbeddingAffinity(index, lambda: current[0])
    candidates = Candidates(np.arange(len(index.venue_ids), dtype=np.int32), {})
    user = str(factors.user_ids[0])
    assert not hydrator.hydrate(_request(user), candidates)["emb_score"].any()
    current[0] = factors
    scores = hydrator.hydrate(_request(user), candidates)["emb_score"]
    expected = factors.scores(user, [str(v) for v in index.venue_ids])
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert np.count_nonzero(scores) > 50  # every venue the factors know
    assert not hydrator.hydrate(_request("nobody"), candidates)["emb_score"].any()
    rows = rows_of(factors.entity_ids, index.venue_ids)
    np.testing.assert_allclose(affinity(factors, user, rows), expected, rtol=1e-6)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("city")
    settings = load_settings(None)
    settings.data.dir = root
    settings.simulation = settings.simulation.model_copy(update={"customers": 400, "days": 9})
    run_simulation(settings)
    return root


@pytest.fixture(scope="module")
def trained(data_dir: Path) -> TrainResult:
    store = FileModelStore.in_data_dir(data_dir)
    params = RankerParams(num_trees=40, early_stopping_rounds=20)
    result, _ = train(
        Workspace(data_dir), store, name="venue_ranker", params=params, precompile=False
    )
    return result


def test_trained_model_uses_and_ships_the_embeddings(data_dir: Path, trained: TrainResult) -> None:
    version = trained.version
    assert "emb_score" in version.features
    assert (version.path / EMBEDDINGS_DIR / "venue_embeddings.npz").is_file()
    loaded = load_model(version, compiled=False)
    assert loaded.factors is not None
    saved = Embeddings.load(version.path / EMBEDDINGS_DIR, kind="venue")
    np.testing.assert_array_equal(loaded.factors.entity_factors, saved.entity_factors)
    np.testing.assert_array_equal(loaded.factors.user_ids, saved.user_ids)
    events = Workspace(data_dir).events()
    assert saved.metadata["nnz"] > 0
    assert len(saved.user_ids) > 100
    assert pc.max(events.column("ts")).as_py() >= trained.version.training_end
