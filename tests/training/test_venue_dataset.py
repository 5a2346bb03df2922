"""Point-in-time training data: features as they were when each ranking was served."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from palate.premises.discovery import DISCOVERY_FEATURES
from palate.simulate import SimulationConfig, SimulationResult, simulate
from palate.training.venue_ranker.dataset import build_training_table
from palate.training.venue_ranker.labels import labelled_impressions

STEP = timedelta(hours=1)


@pytest.fixture(scope="module")
def world() -> SimulationResult:
    return simulate(SimulationConfig(seed=5, customers=300, days=6))


@pytest.fixture(scope="module")
def everything(world: SimulationResult) -> pl.DataFrame:
    """Every request (engaged or not) of the whole log, with its features."""
    return build_training_table(world.catalog, world.events, step=STEP, engaged_only=False).frame


def _rows(table: pl.DataFrame, request_id: str) -> np.ndarray:
    part = table.filter(pl.col("request_id") == request_id).sort("position")
    return part.select(DISCOVERY_FEATURES).to_numpy()


def test_table_has_every_feature_in_serving_order(world: SimulationResult) -> None:
    table = build_training_table(world.catalog, world.events, step=STEP)
    labels = labelled_impressions(world.events)
    engaged = labels.filter(pl.col("label").max().over("request_id") > 0)
    assert table.features == DISCOVERY_FEATURES
    assert table.frame.columns[-len(DISCOVERY_FEATURES) :] == list(DISCOVERY_FEATURES)
    assert table.frame.height == engaged.height
    assert table.n_requests == engaged["request_id"].n_unique()
    assert table.matrix().shape == (engaged.height, len(DISCOVERY_FEATURES))
    assert np.isfinite(table.matrix()).all()
    starts = (table.frame["request_id"] != table.frame["request_id"].shift(1)).sum() + 1
    assert starts == table.n_requests  # every request's rows are contiguous


def _late_request(table: pl.DataFrame) -> tuple[str, str, object]:
    """A request on the 4th day whose customer had ordered from a venue it showed."""
    later = table.filter(
        (pl.col("ts") > table["ts"].min() + timedelta(days=3)) & (pl.col("cv_orders") > 0)
    )
    row = later.row(0, named=True)
    return row["request_id"], row["user_id"], row["ts"]


def test_features_ignore_everything_after_the_step(
    world: SimulationResult, everything: pl.DataFrame
) -> None:
    full = everything
    request_id, _, ts = _late_request(full)
    step_end = (
        pa.scalar(ts, pa.timestamp("us", tz="UTC"))
        .as_py()
        .replace(minute=0, second=0, microsecond=0)
        + STEP
    )
    cut = world.events.filter(pc.less(world.events.column("ts"), pa.scalar(step_end)))
    assert cut.num_rows < world.events.num_rows
    truncated = build_training_table(world.catalog, cut, step=STEP, engaged_only=False).frame
    np.testing.assert_array_equal(_rows(truncated, request_id), _rows(full, request_id))


def test_features_change_when_an_earlier_order_is_removed(
    world: SimulationResult, everything: pl.DataFrame
) -> None:
    full = everything
    request_id, user_id, ts = _late_request(full)
    events = world.events
    earlier_orders = pc.and_(
        pc.and_(
            pc.equal(events.column("type"), "order"), pc.equal(events.column("user_id"), user_id)
        ),
        pc.less(events.column("ts"), pa.scalar(ts, pa.timestamp("us", tz="UTC"))),
    )
    assert pc.sum(earlier_orders).as_py() >= 1
    kept = events.filter(pc.invert(earlier_orders))
    edited = build_training_table(world.catalog, kept, step=STEP, engaged_only=False).frame
    assert not np.array_equal(_rows(edited, request_id), _rows(full, request_id))


def test_sample_keeps_whole_requests(world: SimulationResult) -> None:
    table = build_training_table(world.catalog, world.events, step=STEP, sample=0.3)
    full = labelled_impressions(world.events)
    sizes = table.frame.group_by("request_id").len()
    expected = full.group_by("request_id").len().join(sizes, on="request_id", suffix="_kept")
    assert (expected["len"] == expected["len_kept"]).all()
    assert 0 < table.n_requests < full["request_id"].n_unique() * 0.5


def test_max_requests_caps_whole_requests_spread_over_the_period(
    world: SimulationResult, everything: pl.DataFrame
) -> None:
    engaged = build_training_table(world.catalog, world.events, step=STEP).frame
    cap = engaged["request_id"].n_unique() // 3
    capped = build_training_table(world.catalog, world.events, step=STEP, max_requests=cap)
    assert capped.n_requests == cap
    kept = capped.frame.group_by("request_id").len()
    whole = everything.group_by("request_id").len().join(kept, on="request_id", suffix="_kept")
    assert (whole["len"] == whole["len_kept"]).all()  # whole requests, never parts
    days = capped.frame["ts"].dt.date().n_unique()
    assert days == engaged["ts"].dt.date().n_unique()  # every day still represented
    # Same features, up to the venue frame's time resolution: its venue-only columns are
    # decayed to the first request of the quarter hour read, which the sample can change.
    for request_id in capped.frame["request_id"].unique().to_list()[:5]:
        got, want = _rows(capped.frame, request_id), _rows(engaged, request_id)
        np.testing.assert_allclose(got, want, rtol=2e-3)
