"""Offline evaluation of venue ranking: re-rank each test request's shown venues by each method.

Every method (the baselines, the learned model and, on simulated data, the oracle that knows
the simulator's true utilities) orders the same venues of the same held-out requests, and is
scored against what the customer then did: graded NDCG@5/10 (order 3 > add to cart 2 >
click 1), and HR@k, MRR and Recall@k with the ordered venue as the relevant one. The share
of the gap closed is ``(NDCG@10 − best baseline) / (oracle − best baseline)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import scipy.sparse as sp

from palate.ranking.heuristic import HeuristicWeights
from palate.ranking.learned import LoadedModel
from palate.training.metrics import (
    catalogue_coverage,
    hit_matrix,
    hit_rate_at_k,
    mean_defined,
    recall_at_k,
    reciprocal_rank,
    relevant_counts,
)
from palate.training.venue_ranker.baselines import (
    BASELINES,
    baseline_scores,
    order_history,
    table_matrix,
)
from palate.training.venue_ranker.dataset import TrainingTable
from palate.training.venue_ranker.ranking_metrics import RequestGrid, graded_ndcg, grouped, ranking
from palate.training.venue_ranker.train import engaged

LEARNED, ORACLE = "learned", "oracle"
# Scores every shown venue of a frame of test requests by the truth (simulated data only).
Oracle = Callable[[pl.DataFrame], npt.NDArray[np.float64]]
METRICS = ("ndcg@5", "ndcg@10", "hr@1", "hr@5", "mrr", "recall@5", "coverage@10")
SEGMENTS = ("venue", "customer", "city")
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Every method's metrics on the test requests, overall and by segment."""

    overall: pl.DataFrame
    """One row per method: the metrics of :data:`METRICS` and ``gap_closed``."""
    segments: pl.DataFrame
    """Rows (segment, value, method, requests, ndcg@10)."""
    best_baseline: str
    n_requests: int
    test_start: datetime
    model: str

    def metric(self, method: str, name: str = "ndcg@10") -> float:
        """One number of the overall table."""
        return float(self.overall.filter(pl.col("method") == method)[name].item())


def evaluate_venue_ranking(
    table: TrainingTable,
    events: pa.Table,
    model: LoadedModel,
    *,
    test_start: datetime,
    weights: HeuristicWeights | None = None,
    oracle: Oracle | None = None,
) -> Evaluation:
    """Score every method on the engaged requests from ``test_start`` on."""
    test = engaged(table.frame.filter(pl.col("ts") >= test_start))
    if test.is_empty():
        raise ValueError(f"no engaged requests on or after {test_start:%Y-%m-%d}")
    test = order_history(test, events).with_columns(pl.col("pos").cast(pl.Int64))
    scores = baseline_scores(test, weights or HeuristicWeights())
    scores[LEARNED] = np.asarray(model.predictor.predict(table_matrix(table, test)))
    if oracle is not None:
        scores[ORACLE] = oracle(test)
    n_venues = int(table.frame["pos"].cast(pl.Int64).max() or 0) + 1  # type: ignore[arg-type]
    per_request = {m: _per_request(grouped(test, s, "pos"), n_venues) for m, s in scores.items()}
    overall = pl.DataFrame([{"method": m, **r.summary} for m, r in per_request.items()])
    best = _best_baseline(overall)
    overall = _with_gap(overall, best, ORACLE if oracle is not None else None)
    return Evaluation(
        overall=overall,
        segments=_segments(test, {m: r.ndcg10 for m, r in per_request.items()}),
        best_baseline=best,
        n_requests=int(test["request_id"].n_unique()),
        test_start=test_start,
        model=model.version.label,
    )


@dataclass(frozen=True, slots=True)
class _Scored:
    summary: dict[str, float]
    ndcg10: FloatArray


def _per_request(grid: RequestGrid, n_venues: int) -> _Scored:
    order = ranking(grid.scores)
    ordered = sp.csr_array(grid.labels == 3)
    hits = hit_matrix(
        np.where(np.isfinite(np.take_along_axis(grid.scores, order, 1)), order, -1), ordered
    )
    n_relevant = relevant_counts(ordered)
    defined = n_relevant > 0
    venues = np.take_along_axis(grid.venues, order, axis=1)
    ndcg10 = graded_ndcg(grid.scores, grid.labels, 10)
    summary = {
        "ndcg@5": mean_defined(graded_ndcg(grid.scores, grid.labels, 5)),
        "ndcg@10": mean_defined(ndcg10),
        "hr@1": float(hit_rate_at_k(hits, 1)[defined].mean()),
        "hr@5": float(hit_rate_at_k(hits, 5)[defined].mean()),
        "mrr": float(reciprocal_rank(hits)[defined].mean()),
        "recall@5": mean_defined(recall_at_k(hits, n_relevant, 5)),
        "coverage@10": catalogue_coverage(venues, n_venues, 10),
    }
    return _Scored(summary, ndcg10)


def _best_baseline(overall: pl.DataFrame) -> str:
    baselines = overall.filter(pl.col("method").is_in(BASELINES))
    return str(baselines.sort("ndcg@10", descending=True)["method"][0])


def _with_gap(overall: pl.DataFrame, best: str, oracle: str | None) -> pl.DataFrame:
    if oracle is None:
        return overall.with_columns(pl.lit(None, dtype=pl.Float64).alias("gap_closed"))
    floor = float(overall.filter(pl.col("method") == best)["ndcg@10"].item())
    ceiling = float(overall.filter(pl.col("method") == oracle)["ndcg@10"].item())
    span = ceiling - floor
    gap = (pl.col("ndcg@10") - floor) / span if span > 0 else pl.lit(None, dtype=pl.Float64)
    return overall.with_columns(gap.alias("gap_closed"))


def _segments(test: pl.DataFrame, ndcg10: dict[str, FloatArray]) -> pl.DataFrame:
    """NDCG@10 per method within each segment value (requests where it is defined)."""
    requests = _request_segments(test)
    rows = []
    for segment in SEGMENTS:
        values = requests[segment].to_numpy()
        for value in sorted({str(v) for v in values}):
            mask = values == value
            for method, per_request in ndcg10.items():
                rows.append(
                    {
                        "segment": segment,
                        "value": value,
                        "method": method,
                        "requests": int(mask.sum()),
                        "ndcg@10": mean_defined(per_request[mask]),
                    }
                )
    return pl.DataFrame(rows)


def _request_segments(test: pl.DataFrame) -> pl.DataFrame:
    """Per request (in order): repeat or new venue, new or returning customer, city."""
    best = pl.col("label") == pl.col("label").max().over("request_id")
    return (
        test.with_columns(
            (best & (pl.col("user_venue_orders_before") > 0)).alias("_repeat"),
            pl.col("city").fill_null("unknown"),
        )
        .group_by("request_id", maintain_order=True)
        .agg(
            pl.when(pl.col("_repeat").any())
            .then(pl.lit("repeat"))
            .otherwise(pl.lit("new"))
            .alias("venue"),
            pl.when(pl.col("user_orders_before").first() > 0)
            .then(pl.lit("returning"))
            .otherwise(pl.lit("new"))
            .alias("customer"),
            pl.col("city").first().alias("city"),
        )
    )
