"""The simple rankers a learned model must beat, and the order history they need.

Every baseline scores the venues a request showed from what was known before the request:
orders strictly earlier than its timestamp (as-of joins, no future), catalog attributes and the
point-in-time features of the training table.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from palate.pipeline.candidates import Candidates
from palate.ranking.heuristic import HeuristicScorer, HeuristicWeights, bayesian_rating
from palate.training.venue_ranker.dataset import TrainingTable

BASELINES = ("popularity", "distance", "rating", "own_frequency", "heuristic")
FloatArray = npt.NDArray[np.float64]


def order_history(frame: pl.DataFrame, events: pa.Table) -> pl.DataFrame:
    """Add, per impression, the orders placed strictly before its request.

    ``venue_orders_before`` (anyone, at the venue), ``user_venue_orders_before`` (this
    customer, at the venue) and ``user_orders_before`` (this customer, anywhere).
    """
    raw = pl.from_arrow(events.select(["type", "user_id", "venue_id", "ts"]))
    assert isinstance(raw, pl.DataFrame)  # noqa: S101 - from_arrow of a Table is a frame
    orders = raw.filter(pl.col("type") == "order").drop("type").sort("ts")
    keyed = frame.with_row_index("_row").sort("ts")
    for keys, name in (
        (["venue_id"], "venue_orders_before"),
        (["user_id", "venue_id"], "user_venue_orders_before"),
        (["user_id"], "user_orders_before"),
    ):
        counts = orders.select(
            *keys, "ts", pl.int_range(1, pl.len() + 1).over(keys).alias(name)
        ).sort("ts")
        keyed = keyed.join_asof(
            counts,
            on="ts",
            by=keys,
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,  # both sides sorted by ts just above
        ).with_columns(pl.col(name).fill_null(0).cast(pl.Float64))
    return keyed.sort("_row").drop("_row")


def baseline_scores(frame: pl.DataFrame, weights: HeuristicWeights) -> dict[str, FloatArray]:
    """One score column per baseline, aligned with ``frame`` (which has :func:`order_history`)."""
    rating = bayesian_rating(
        frame["rating"].to_numpy(),
        frame["rating_count"].to_numpy(),
        weights.rating_prior_mean,
        weights.rating_prior_count,
    )
    return {
        "popularity": frame["venue_orders_before"].to_numpy().astype(np.float64),
        "distance": -frame["distance_m"].to_numpy().astype(np.float64),
        "rating": np.asarray(rating, dtype=np.float64),
        "own_frequency": frame["user_venue_orders_before"].to_numpy().astype(np.float64),
        "heuristic": heuristic_scores(frame, weights),
    }


def heuristic_scores(frame: pl.DataFrame, weights: HeuristicWeights) -> FloatArray:
    """Serving's :class:`HeuristicScorer`, request by request (it normalises per request)."""
    scorer = HeuristicScorer(weights)
    names = ("distance_m", "prep_time_min", "rating", "rating_count", "pop_orders_7d", "cv_orders")
    columns = {name: frame[name].to_numpy().astype(np.float64) for name in names}
    ids = frame["request_id"]
    starts = np.flatnonzero((ids != ids.shift(1)).fill_null(value=True).to_numpy())
    bounds = np.append(starts, frame.height)
    out = np.empty(frame.height, dtype=np.float64)
    for lo, hi in itertools.pairwise(bounds):
        part = Candidates(
            np.arange(hi - lo, dtype=np.int32), {n: c[lo:hi] for n, c in columns.items()}
        )
        out[lo:hi] = scorer.score(None, part)  # type: ignore[arg-type]  # it ignores the request
    return out


def table_matrix(table: TrainingTable, frame: pl.DataFrame) -> FloatArray:
    """The model features of ``frame`` rows in the table's feature order."""
    return frame.select(table.features).to_numpy().astype(np.float64)
