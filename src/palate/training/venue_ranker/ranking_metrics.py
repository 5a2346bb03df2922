"""Per-request ranking grids and graded NDCG for re-ranking the venues a request showed.

Each request becomes one row of a padded ``(n_requests, max_shown)`` grid: scores (``-inf``
in padding), graded labels and venue positions. Ranking a row sorts its scores; ties are
broken by a seeded random key, never by the logged position, which would smuggle the logging
policy's own ranking into a baseline that cannot tell venues apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

FloatGrid = npt.NDArray[np.float64]
IntGrid = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RequestGrid:
    """Scores, labels and venue positions per request (row) and shown venue (column)."""

    scores: FloatGrid
    labels: IntGrid
    venues: IntGrid
    row: IntGrid
    column: IntGrid


def grouped(
    frame: pl.DataFrame, scores: npt.NDArray[np.floating], venue: str | None = None
) -> RequestGrid:
    """The grid of ``scores`` (aligned with ``frame``'s contiguous request rows).

    >>> f = pl.DataFrame({"request_id": ["a", "a", "b"], "label": [0, 3, 1]})
    >>> g = grouped(f, np.array([0.1, 0.2, 0.3]))
    >>> g.labels.tolist(), g.scores[1].tolist()
    ([[0, 3], [1, -1]], [0.3, -inf])
    """
    ids = frame["request_id"]
    starts = (ids != ids.shift(1)).fill_null(value=True).to_numpy()
    row = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    column = np.arange(len(row)) - first[row]
    shape = (len(first), int(column.max(initial=-1)) + 1)
    grid_scores = np.full(shape, -np.inf)
    grid_scores[row, column] = scores
    labels = np.full(shape, -1, dtype=np.int64)
    labels[row, column] = frame["label"].to_numpy()
    venues = np.full(shape, -1, dtype=np.int64)
    if venue is not None:
        venues[row, column] = frame[venue].to_numpy()
    return RequestGrid(grid_scores, labels, venues, row.astype(np.int64), column.astype(np.int64))


def ranking(scores: FloatGrid, seed: int = 0) -> IntGrid:
    """Column order of each row, best score first, ties in a seeded random order.

    >>> ranking(np.array([[0.1, 0.9, -np.inf]])).tolist()
    [[1, 0, 2]]
    """
    tie_break = np.random.default_rng(seed).random(scores.shape)
    order: IntGrid = np.lexsort((tie_break, -scores), axis=1).astype(np.int64)
    return order


def graded_ndcg(scores: FloatGrid, labels: IntGrid, k: int, seed: int = 0) -> FloatGrid:
    """NDCG@k with gains ``2**label - 1`` per request; ``nan`` where no venue was engaged.

    >>> round(float(graded_ndcg(np.array([[0.9, 0.5]]), np.array([[0, 3]]), 2)[0]), 4)
    0.6309
    """
    gains = np.where(labels > 0, 2.0 ** np.maximum(labels, 0) - 1.0, 0.0)
    order = ranking(scores, seed)
    ranked = np.take_along_axis(gains, order, axis=1)[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, ranked.shape[1] + 2, dtype=np.float64))
    dcg = ranked @ discounts
    ideal = -np.sort(-gains, axis=1)[:, :k] @ discounts
    out = np.full(len(dcg), np.nan)
    defined = ideal > 0
    out[defined] = dcg[defined] / ideal[defined]
    return out
