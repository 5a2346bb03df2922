"""Customer, venue and item embeddings from implicit feedback, by ALS (the ``implicit`` library).

Feedback is every order, add-to-cart and click (impressions weigh nothing by default), each
weighted by its type and halved every ``half_life_days`` before the newest event, summed per
(customer, entity) in one polars group-by and turned into a CSR matrix. Confidence follows Hu,
Koren & Volinsky (2008) with log scaling: ``c = 1 + alpha·log(1 + r)``, so a regular's hundredth
order adds less than their first. The factors serve as a ranking feature (customer · venue) and
as the "For you" retrieval source (:meth:`Embeddings.top_k` among deliverable venues).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from palate.pipeline.candidates import FloatArray, IntArray
from palate.training.artifacts import (
    Ids,
    StrArray,
    as_id_array,
    codes_of,
    event_frame,
    load_arrays,
    positions_in,
    save_arrays,
    sorted_unique,
)

Factors = npt.NDArray[np.float32]
_US_PER_DAY = 86_400_000_000
_FEEDBACK_COLUMNS = ("user_id", "entity_id", "type", "ts")


@dataclass(frozen=True, slots=True)
class FeedbackWeights:
    """How much one event of each type says about a preference (before time decay)."""

    order: float = 8.0
    add_to_cart: float = 2.0
    click: float = 1.0
    impression: float = 0.0

    def positive(self) -> dict[str, float]:
        """The event types that count, with their weights."""
        return {k: v for k, v in asdict(self).items() if v > 0}


@dataclass(frozen=True, slots=True)
class AlsParams:
    """ALS hyper-parameters; ``threads`` is the solver's OpenMP threads (BLAS is pinned to 1)."""

    factors: int = 32
    iterations: int = 15
    regularization: float = 1.0
    alpha: float = 4.0
    half_life_days: float | None = 30.0
    seed: int = 0
    threads: int = 1


class TopK(NamedTuple):
    """The best ``k`` of a candidate list, best first: positions in that list, ids, scores."""

    positions: IntArray
    ids: StrArray
    scores: FloatArray


@dataclass(frozen=True, slots=True)
class Interactions:
    """A (customer × entity) confidence matrix with the sorted ids of its rows and columns."""

    user_ids: StrArray
    entity_ids: StrArray
    matrix: Any  # scipy.sparse.csr_matrix of float32 confidences


def _empty_topk() -> TopK:
    return TopK(np.empty(0, np.int32), np.empty(0, np.str_), np.empty(0, np.float64))


@dataclass(frozen=True, slots=True, eq=False)
class Embeddings:
    """Customer and entity (venue or item) factors, rows aligned with sorted id arrays."""

    kind: str
    user_ids: StrArray
    entity_ids: StrArray
    user_factors: Factors
    entity_factors: Factors
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        """The number of latent factors."""
        return int(self.entity_factors.shape[1])

    def user_vector(self, user_id: str) -> Factors | None:
        """The customer's factors, ``None`` for a customer unseen in training."""
        row = int(positions_in(self.user_ids, [user_id])[0])
        return None if row < 0 else self.user_factors[row]

    def entity_positions(self, entity_ids: Ids) -> IntArray:
        """Row of each entity in :attr:`entity_factors`, ``-1`` for entities unseen in training.

        A serving index can call this once per catalog snapshot and keep the mapping.
        """
        return positions_in(self.entity_ids, entity_ids)

    def scores(
        self, user_id: str, entity_ids: Ids, *, unknown: float | FloatArray = 0.0
    ) -> FloatArray:
        """Dot products of the customer with each entity; ``unknown`` (a constant or an array
        aligned with ``entity_ids``, e.g. a popularity prior) where either side is unseen.
        """
        rows = self.entity_positions(entity_ids)
        out = np.broadcast_to(np.asarray(unknown, dtype=np.float64), rows.shape).copy()
        vector = self.user_vector(user_id)
        if vector is None:
            return out
        known = rows >= 0
        out[known] = self.entity_factors[rows[known]] @ vector
        return out

    def top_k(self, user_id: str, candidate_ids: Ids, k: int) -> TopK:
        """The ``k`` candidates with the highest scores, best first; candidates unseen in
        training are skipped and an unseen customer gets nothing (fall back to priors).
        """
        candidates = as_id_array(candidate_ids)
        rows = self.entity_positions(candidates)
        vector = self.user_vector(user_id)
        known = np.flatnonzero(rows >= 0).astype(np.int32)
        if vector is None or len(known) == 0 or k <= 0:
            return _empty_topk()
        scores = (self.entity_factors[rows[known]] @ vector).astype(np.float64)
        best = _best(scores, k)
        return TopK(known[best], candidates[known[best]], scores[best])

    def similar(self, entity_id: str, k: int) -> TopK:
        """The ``k`` entities closest by cosine similarity, excluding the entity itself."""
        row = int(self.entity_positions([entity_id])[0])
        if row < 0 or k <= 0:
            return _empty_topk()
        norms = np.linalg.norm(self.entity_factors, axis=1)
        cosine = (self.entity_factors @ self.entity_factors[row]) / np.maximum(
            norms * norms[row], 1e-12
        )
        cosine = cosine.astype(np.float64)
        cosine[row] = -np.inf
        best = _best(cosine, min(k, len(cosine) - 1))
        return TopK(best.astype(np.int32), self.entity_ids[best], cosine[best])

    def save(self, directory: Path) -> None:
        """Write ``<kind>_embeddings.npz`` and ``.json`` into ``directory``."""
        arrays = {
            "user_ids": self.user_ids,
            "entity_ids": self.entity_ids,
            "user_factors": self.user_factors,
            "entity_factors": self.entity_factors,
        }
        save_arrays(directory, f"{self.kind}_embeddings", arrays, self.metadata)

    @classmethod
    def load(cls, directory: Path, kind: str = "venue") -> Embeddings:
        """Read the ``kind`` embeddings that :meth:`save` wrote into ``directory``."""
        arrays, metadata = load_arrays(directory, f"{kind}_embeddings")
        for key in ("kind", "format_version"):
            metadata.pop(key)
        return cls(
            kind, arrays["user_ids"], arrays["entity_ids"],
            arrays["user_factors"], arrays["entity_factors"], metadata,
        )  # fmt: skip


def _best(scores: FloatArray, k: int) -> IntArray:
    """Indices of the ``k`` largest scores, largest first (ties by index, so deterministic)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, dtype=np.int32)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    order = np.lexsort((part, -scores[part]))
    return part[order].astype(np.int32)


def _decayed(
    frame: pl.DataFrame,
    weights: FeedbackWeights,
    half_life_days: float | None,
    as_of: datetime | None,
) -> pl.DataFrame:
    """Attach ``weight``: the type's weight halved per ``half_life_days`` of age at ``as_of``."""
    positive = weights.positive()
    weight = pl.col("type").replace_strict(positive, default=0.0, return_dtype=pl.Float64)
    frame = frame.filter(pl.col("type").is_in(list(positive))).with_columns(weight.alias("weight"))
    if half_life_days is None or frame.height == 0:
        return frame
    ts_us = pl.col("ts").dt.epoch("us")
    reference = frame["ts"].dt.epoch("us").max() if as_of is None else _epoch_us(as_of)
    age_days = ((pl.lit(reference) - ts_us) / _US_PER_DAY).clip(lower_bound=0.0)
    return frame.with_columns(pl.col("weight") * (0.5 ** (age_days / half_life_days)))


def _epoch_us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def interactions(
    feedback: pl.DataFrame,
    *,
    weights: FeedbackWeights,
    alpha: float,
    half_life_days: float | None,
    as_of: datetime | None = None,
) -> Interactions:
    """Confidence matrix from ``feedback`` rows ``(user_id, entity_id, type, ts)``.

    >>> from datetime import datetime, UTC
    >>> day = datetime(2026, 1, 1, tzinfo=UTC)
    >>> rows = pl.DataFrame({"user_id": ["u1", "u1", "u2"], "entity_id": ["v1", "v1", "v2"],
    ...                      "type": ["order", "click", "impression"], "ts": [day] * 3})
    >>> m = interactions(rows, weights=FeedbackWeights(), alpha=1.0, half_life_days=None)
    >>> m.user_ids.tolist(), m.entity_ids.tolist(), round(float(m.matrix[0, 0]), 3)
    (['u1'], ['v1'], 3.303)
    """
    frame = _decayed(feedback.drop_nulls(["user_id", "entity_id"]), weights, half_life_days, as_of)
    user_ids = sorted_unique(frame["user_id"])
    entity_ids = sorted_unique(frame["entity_id"])
    coded = pl.DataFrame(
        {
            "user": codes_of(frame["user_id"], user_ids),
            "entity": codes_of(frame["entity_id"], entity_ids),
            "weight": frame["weight"],
        }
    )
    summed = coded.group_by("user", "entity").agg(pl.col("weight").sum())
    confidence = 1.0 + alpha * np.log1p(summed["weight"].to_numpy())
    matrix = sp.csr_matrix(
        (confidence.astype(np.float32), (summed["user"].to_numpy(), summed["entity"].to_numpy())),
        shape=(len(user_ids), len(entity_ids)),
    )
    matrix.sort_indices()
    return Interactions(user_ids, entity_ids, matrix)


def fit_als(data: Interactions, params: AlsParams, kind: str) -> Embeddings:
    """Factorise ``data`` with implicit's CPU ALS; BLAS is held to one thread meanwhile, as
    implicit requires (its own solver threads are ``params.threads``).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        model = AlternatingLeastSquares(
            factors=params.factors, regularization=params.regularization, alpha=1.0,
            iterations=params.iterations, random_state=params.seed,
            num_threads=params.threads, calculate_training_loss=False,
        )  # fmt: skip
        model.fit(data.matrix, show_progress=False)
    metadata = {
        "params": asdict(params),
        "n_users": len(data.user_ids),
        "n_entities": len(data.entity_ids),
        "nnz": int(data.matrix.nnz),
    }
    return Embeddings(
        kind, data.user_ids, data.entity_ids,
        np.ascontiguousarray(model.user_factors, dtype=np.float32),
        np.ascontiguousarray(model.item_factors, dtype=np.float32), metadata,
    )  # fmt: skip


def venue_feedback(events: pa.Table | pl.DataFrame, types: Collection[str]) -> pl.DataFrame:
    """``(user_id, entity_id, type, ts)`` per event of ``types`` that names a venue."""
    frame = event_frame(events, ["user_id", "venue_id", "type", "ts"], types)
    return frame.rename({"venue_id": "entity_id"}).select(_FEEDBACK_COLUMNS)


def item_feedback(events: pa.Table | pl.DataFrame, types: Collection[str]) -> pl.DataFrame:
    """``(user_id, entity_id, type, ts)`` per ordered line and per item event of ``types``."""
    lines = (
        event_frame(events, ["user_id", "type", "ts", "lines"], {"order"} & set(types))
        .with_columns(pl.col("lines").list.eval(pl.element().struct["item_id"]))
        .explode("lines")
        .rename({"lines": "entity_id"})
    )
    columns = ["user_id", "type", "ts", "item_id", "entity_kind", "entity_id"]
    item_click = pl.when(pl.col("entity_kind") == "item").then(pl.col("entity_id"))
    others = event_frame(events, columns, set(types) - {"order"}).select(
        "user_id", pl.coalesce("item_id", item_click).alias("entity_id"), "type", "ts"
    )
    return pl.concat([lines.select(_FEEDBACK_COLUMNS), others.select(_FEEDBACK_COLUMNS)])


def train_venue_embeddings(
    events: pa.Table | pl.DataFrame,
    *,
    params: AlsParams | None = None,
    weights: FeedbackWeights | None = None,
    as_of: datetime | None = None,
) -> Embeddings:
    """Customer and venue factors from an event table (:data:`EVENT_SCHEMA`).

    ``as_of`` is the time decay's reference (default: the newest event); it does not cut the
    window, so pass only the events of the training window.
    """
    weights = weights or FeedbackWeights()
    return _train("venue", venue_feedback(events, weights.positive()), params, weights, as_of)


def train_item_embeddings(
    events: pa.Table | pl.DataFrame,
    *,
    params: AlsParams | None = None,
    weights: FeedbackWeights | None = None,
    as_of: datetime | None = None,
) -> Embeddings:
    """Customer and item factors from order lines, item add-to-carts and item clicks."""
    weights = weights or FeedbackWeights()
    return _train("item", item_feedback(events, weights.positive()), params, weights, as_of)


def fit_item_factors(
    events: pa.Table | pl.DataFrame, as_of: datetime, params: AlsParams | None = None
) -> Embeddings | None:
    """Customer × item embeddings of ``events`` decayed to ``as_of``; ``None`` without any
    item feedback (a log of venue events only), so the caller ships no item factors.
    """
    weights = FeedbackWeights()
    feedback = item_feedback(events, weights.positive()).drop_nulls(["user_id", "entity_id"])
    if feedback.is_empty():
        return None
    return _train("item", feedback, params, weights, as_of)


def _train(
    kind: str,
    feedback: pl.DataFrame,
    params: AlsParams | None,
    weights: FeedbackWeights,
    as_of: datetime | None,
) -> Embeddings:
    params = params or AlsParams()
    data = interactions(
        feedback, weights=weights, alpha=params.alpha,
        half_life_days=params.half_life_days, as_of=as_of,
    )  # fmt: skip
    embeddings = fit_als(data, params, kind)
    embeddings.metadata["weights"] = asdict(weights)
    return embeddings
