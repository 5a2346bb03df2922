"""TIFU-KNN (Hu et al., SIGIR 2020): time-decayed item frequencies plus the user's neighbours.

A user's history baskets are cut into ``groups`` consecutive groups of (nearly) equal size.
Inside a group a basket weighs ``within_decay ** (baskets after it in the group)``; a group's
vector is the mean of its decayed basket vectors, and the user's vector the mean of the
group vectors weighted by ``group_decay ** (groups after it)``. The score of an item is
``alpha * own vector + (1 - alpha) * mean vector of the k nearest train users`` (Euclidean
distance between vectors, as in the reference implementation). Remaining ties go to the
globally more popular item, so every user gets a full list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from palate.training.metrics import (
    FloatArray,
    IntArray,
    hit_matrix,
    mean_defined,
    recall_at_k,
    relevant_counts,
)
from palate.training.next_basket.baselines import popularity, popularity_fraction
from palate.training.next_basket.protocol import BasketSplit
from palate.training.next_basket.scoring import dense_rows, rank, user_item_matrix

_TIE_BREAK = 1e-9


@dataclass(frozen=True, slots=True)
class TifuParams:
    """TIFU-KNN hyperparameters (the reference code's Instacart values by default)."""

    neighbours: int = 300
    within_decay: float = 0.9
    group_decay: float = 0.7
    alpha: float = 0.9
    groups: int = 3


def tifu_weight(within_decay: float, group_decay: float, groups: int) -> pl.Expr:
    """Each history line's weight in its user's TIFU vector.

    Needs ``basket`` and ``n_history`` (the user's number of history baskets) columns.
    """
    n = pl.col("n_history")
    m = pl.min_horizontal(n, pl.lit(groups))
    group = (pl.col("basket") * m) // n
    group_start = (group * n + m - 1) // m  # first basket b with b * m // n == group
    group_end = ((group + 1) * n + m - 1) // m - 1
    size = group_end - group_start + 1
    within = pl.lit(within_decay).pow(group_end - pl.col("basket"))
    across = pl.lit(group_decay).pow(m - 1 - group)
    return within * across / (size * m)


def tifu_vectors(split: BasketSplit, params: TifuParams) -> sp.csr_array:
    """Every user's TIFU vector from their history baskets (``n_users × n_items``)."""
    history = split.history().with_columns(n_history=pl.col("basket").max().over("user") + 1)
    weight = tifu_weight(params.within_decay, params.group_decay, params.groups)
    return user_item_matrix(history, weight, split.n_users, split.n_items)


def nearest(
    vectors: sp.csr_array, queries: IntArray, pool: IntArray, k: int
) -> tuple[IntArray, FloatArray]:
    """The ``k`` pool users nearest each query (never the query itself) and their distances².

    Returns positions into ``pool``, shape ``(len(queries), min(k, len(pool) - 1))``.
    """
    squares = np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel()
    dots = np.asarray((vectors[queries] @ vectors[pool].T).toarray())
    distances = squares[queries][:, None] + squares[pool][None, :] - 2.0 * dots
    distances[queries[:, None] == pool[None, :]] = np.inf
    k_eff = max(1, min(k, len(pool) - 1))
    picked = np.argpartition(distances, k_eff - 1, axis=1)[:, :k_eff]
    return picked.astype(np.int64), np.take_along_axis(distances, picked, axis=1)


def neighbour_mean(vectors: sp.csr_array, queries: IntArray, pool: IntArray, k: int) -> FloatArray:
    """Mean vector of each query user's ``k`` nearest pool users (dense)."""
    picked, _ = nearest(vectors, queries, pool, k)
    rows = np.repeat(np.arange(len(queries)), picked.shape[1])
    weights = np.full(picked.size, 1.0 / picked.shape[1])
    selector = sp.csr_array((weights, (rows, picked.ravel())), shape=(len(queries), len(pool)))
    return np.asarray((selector @ vectors[pool]).toarray(), dtype=np.float64)


@dataclass(frozen=True)
class TifuKnn:
    """A fitted TIFU-KNN: vectors of every user, neighbours drawn from the train users."""

    vectors: sp.csr_array
    pool: IntArray
    params: TifuParams
    tie_break: FloatArray

    def scores(self, users: IntArray) -> FloatArray:
        """``alpha`` × own vector + (1 − ``alpha``) × neighbours' mean, popularity tie-break."""
        own = dense_rows(self.vectors, users)
        others = neighbour_mean(self.vectors, users, self.pool, self.params.neighbours)
        alpha = self.params.alpha
        return alpha * own + (1.0 - alpha) * others + _TIE_BREAK * self.tie_break


def fit_tifu(split: BasketSplit, params: TifuParams) -> TifuKnn:
    """TIFU-KNN with the train users as the neighbour pool."""
    fraction = popularity_fraction(popularity(split))
    return TifuKnn(tifu_vectors(split, params), split.users_of("train"), params, fraction)


TIFU_GRID: tuple[TifuParams, ...] = tuple(
    TifuParams(neighbours, 0.9, group_decay, alpha, groups)
    for neighbours in (100, 300, 900)
    for group_decay in (0.6, 0.7)
    for alpha in (0.5, 0.7, 0.9)
    for groups in (3, 7)
)
"""The grid searched on validation users; it holds the reference code's published settings."""


def tune_tifu(
    split: BasketSplit, grid: Sequence[TifuParams] = TIFU_GRID, k: int = 10
) -> TifuParams:
    """The grid point with the best mean Recall@k on the validation users (first on ties)."""
    users = split.users_of("validation")
    if len(users) == 0 or len(grid) == 1:
        return grid[0]
    targets = split.target_matrix(users)
    counts = relevant_counts(targets)
    fraction = popularity_fraction(popularity(split))
    vectors: dict[tuple[float, float, int], sp.csr_array] = {}
    best, best_recall = grid[0], -1.0
    for params in grid:
        key = (params.within_decay, params.group_decay, params.groups)
        if key not in vectors:
            vectors[key] = tifu_vectors(split, params)
        model = TifuKnn(vectors[key], split.users_of("train"), params, fraction)
        ranked = rank(model, users, split.n_items, k)
        recall = mean_defined(recall_at_k(hit_matrix(ranked, targets), counts, k))
        if recall > best_recall:
            best, best_recall = params, recall
    return best
