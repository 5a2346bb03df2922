"""Turning per-user item scores into ranked lists, a block of users at a time.

Every next-basket method here is a :class:`Scorer`: given user indices it returns a dense
``users × items`` score matrix, ``-inf`` for items it will never recommend. Scoring in blocks
bounds memory by ``block_cells`` whatever the numbers of users and items.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import polars as pl
import scipy.sparse as sp

from palate.training.metrics import FloatArray, IntArray, top_k

BLOCK_CELLS = 8_000_000


class Scorer(Protocol):
    """Scores every item for some users of a :class:`~.protocol.BasketSplit`."""

    def scores(self, users: IntArray) -> FloatArray:
        """Dense ``len(users) × n_items`` scores; higher is better, ``-inf`` excludes."""
        ...


def rank(scorer: Scorer, users: IntArray, n_items: int, k: int) -> IntArray:
    """The top-``k`` item indices for each user, best first, ``-1`` padded."""
    block = max(1, BLOCK_CELLS // max(n_items, 1))
    parts = [
        top_k(scorer.scores(users[start : start + block]), k)
        for start in range(0, len(users), block)
    ]
    if not parts:
        return np.empty((0, k), dtype=np.int64)
    return np.vstack(parts)


def user_item_matrix(
    lines: pl.DataFrame, weight: pl.Expr, n_users: int, n_items: int
) -> sp.csr_array:
    """Sum of ``weight`` over ``lines`` per (user, item), as a sparse ``n_users × n_items``.

    >>> lines = pl.DataFrame({"user": [0, 0, 1], "item": [1, 1, 0]})
    >>> user_item_matrix(lines, pl.lit(1.0), 2, 2).toarray().tolist()
    [[0.0, 2.0], [1.0, 0.0]]
    """
    # Evaluated per line first: a bare literal summed inside agg would count once per group.
    weighted = lines.select("user", "item", value=weight)
    summed = weighted.group_by("user", "item").agg(pl.col("value").sum())
    rows = summed.get_column("user").to_numpy()
    cols = summed.get_column("item").to_numpy()
    values = summed.get_column("value").to_numpy().astype(np.float64)
    return sp.csr_array((values, (rows, cols)), shape=(n_users, n_items))


def dense_rows(matrix: sp.csr_array, users: IntArray) -> FloatArray:
    """The users' rows of a sparse matrix as a dense float array."""
    return np.asarray(matrix[users].toarray(), dtype=np.float64)
