"""Top-k ranking metrics, vectorised over users.

Every evaluation ranks items (or venues) for a batch of users and compares the lists with
what each user then bought. The lists are an integer matrix ``ranked`` of shape
``(n_users, k_max)`` holding item indices best first, padded with ``-1`` where a user gets
fewer than ``k_max`` items. The relevant items are a sparse binary matrix (one row per user,
one column per item). :func:`hit_matrix` turns both into a boolean matrix ``hits`` (is the
item at rank ``j`` of user ``u`` relevant?), from which every per-user metric follows in a
few array operations. Per-user metrics return one float per user, ``nan`` where the metric
is undefined (no relevant item), so that ``np.nanmean`` averages over the users for whom it
is defined.

Relevance is binary, as in the next-basket literature (Li et al., TOIS 2023, and their code).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

IdealCutoff = Literal["all", "k"]


def top_k(scores: npt.NDArray[np.floating], k: int) -> IntArray:
    """Column indices of the ``k`` highest scores of each row, best first, ties by index.

    Entries equal to ``-inf`` are never returned: their slots are ``-1`` instead.

    >>> top_k(np.array([[0.1, 0.9, 0.5], [1.0, -np.inf, 2.0]]), 2).tolist()
    [[1, 2], [2, 0]]
    >>> top_k(np.array([[0.0, -np.inf]]), 2).tolist()
    [[0, -1]]
    """
    n_rows, n_cols = scores.shape
    k_eff = min(k, n_cols)
    if k_eff <= 0:
        return np.full((n_rows, max(k, 0)), -1, dtype=np.int64)
    part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    best = np.take_along_axis(part, order, axis=1).astype(np.int64)
    best[np.take_along_axis(scores, best, axis=1) == -np.inf] = -1
    if k_eff < k:
        best = np.hstack([best, np.full((n_rows, k - k_eff), -1, dtype=np.int64)])
    return best


def hit_matrix(ranked: npt.NDArray[np.integer], relevant: sp.sparray | sp.spmatrix) -> BoolArray:
    """Whether each ranked item is relevant: ``hits[u, j] = relevant[u, ranked[u, j]]``.

    ``relevant`` has one row per row of ``ranked``; any non-zero entry counts as relevant.

    >>> rel = sp.csr_array(np.array([[0, 1, 0, 1], [1, 0, 0, 0]]))
    >>> hit_matrix(np.array([[3, 0, -1], [2, 0, 1]]), rel).tolist()
    [[True, False, False], [False, True, False]]
    """
    matrix = sp.csr_array(relevant)
    matrix.eliminate_zeros()
    n_rows, n_cols = matrix.shape
    if ranked.shape[0] != n_rows:
        raise ValueError(f"ranked has {ranked.shape[0]} rows, relevant has {n_rows}")
    row_of_entry = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(matrix.indptr))
    keys = np.sort(row_of_entry * n_cols + matrix.indices.astype(np.int64))
    rows = np.arange(n_rows, dtype=np.int64)[:, None]
    queries = rows * n_cols + ranked.astype(np.int64)
    found = np.searchsorted(keys, queries)
    found = np.minimum(found, max(len(keys) - 1, 0))
    hits = keys[found] == queries if len(keys) else np.zeros(ranked.shape, dtype=bool)
    return np.asarray(hits & (ranked >= 0), dtype=np.bool_)


def relevant_counts(relevant: sp.sparray | sp.spmatrix) -> IntArray:
    """Number of relevant items per row.

    >>> relevant_counts(sp.csr_array(np.array([[0, 1, 1], [0, 0, 0]]))).tolist()
    [2, 0]
    """
    matrix = sp.csr_array(relevant)
    matrix.eliminate_zeros()
    counts: IntArray = np.diff(matrix.indptr).astype(np.int64)
    return counts


def _hits_at(hits: BoolArray, k: int) -> BoolArray:
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    return hits[:, :k]


def _per_relevant(values: FloatArray, n_relevant: npt.NDArray[np.integer]) -> FloatArray:
    out = np.full(len(values), np.nan)
    defined = n_relevant > 0
    out[defined] = values[defined] / n_relevant[defined]
    return out


def recall_at_k(hits: BoolArray, n_relevant: npt.NDArray[np.integer], k: int) -> FloatArray:
    """Share of each user's relevant items found in the top ``k``.

    >>> recall_at_k(np.array([[True, False, True], [False, False, False]]), np.array([4, 0]), 3)
    array([0.5, nan])
    """
    found = _hits_at(hits, k).sum(axis=1).astype(np.float64)
    return _per_relevant(found, n_relevant)


def precision_at_k(hits: BoolArray, k: int) -> FloatArray:
    """Share of the top ``k`` slots holding a relevant item (empty slots count as misses).

    >>> precision_at_k(np.array([[True, False, True, False]]), 4).tolist()
    [0.5]
    """
    found: FloatArray = _hits_at(hits, k).sum(axis=1).astype(np.float64)
    return found / float(k)


def _discounts(k: int) -> FloatArray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def ndcg_at_k(
    hits: BoolArray, n_relevant: npt.NDArray[np.integer], k: int, *, ideal: IdealCutoff = "all"
) -> FloatArray:
    """Binary NDCG@k; the ideal DCG sums over ALL relevant items by default.

    With ``ideal="all"`` (Li et al.'s code) a user with more than ``k`` relevant items cannot
    reach 1; ``ideal="k"`` truncates the ideal list at ``k`` (the textbook definition).
    Two targets hit at ranks 1 and 3: DCG = 1 + 1/2, IDCG = 1 + 1/log2(3).

    >>> hits = np.array([[True, False, True]])
    >>> round(float(ndcg_at_k(hits, np.array([2]), 3)[0]), 6)
    0.919721
    >>> float(ndcg_at_k(np.array([[True]]), np.array([3]), 1, ideal="k")[0])
    1.0
    """
    top = _hits_at(hits, k)
    dcg = top @ _discounts(top.shape[1])
    cutoff = np.asarray(n_relevant, dtype=np.int64)
    if ideal == "k":
        cutoff = np.minimum(cutoff, k)
    cumulative = np.concatenate([[0.0], np.cumsum(_discounts(int(cutoff.max(initial=0))))])
    idcg = cumulative[cutoff]
    out = np.full(len(dcg), np.nan)
    defined = idcg > 0
    out[defined] = dcg[defined] / idcg[defined]
    return out


def hit_rate_at_k(hits: BoolArray, k: int) -> FloatArray:
    """1.0 where the top ``k`` holds at least one relevant item, else 0.0 (HR@k per user).

    >>> hit_rate_at_k(np.array([[False, True], [False, False]]), 2).tolist()
    [1.0, 0.0]
    """
    any_hit: FloatArray = np.asarray(_hits_at(hits, k).any(axis=1), dtype=np.float64)
    return any_hit


def phr_at_k(hits: BoolArray, k: int) -> FloatArray:
    """PHR@k per user (Li et al.): whether the user got at least one hit in the top ``k``.

    Its mean is the share of users with a hit; with several targets per user it is HR@k.

    >>> phr_at_k(np.array([[False, True], [True, False]]), 1).tolist()
    [0.0, 1.0]
    """
    return hit_rate_at_k(hits, k)


def reciprocal_rank(hits: BoolArray, k: int | None = None) -> FloatArray:
    """1 / rank of the first relevant item within the top ``k`` (all ranks if ``None``), else 0.

    >>> reciprocal_rank(np.array([[False, False, True], [False, False, False]])).tolist()
    [0.3333333333333333, 0.0]
    """
    top = hits if k is None else _hits_at(hits, k)
    first = np.argmax(top, axis=1)
    reciprocal: FloatArray = np.where(top.any(axis=1), 1.0 / (first + 1.0), 0.0)
    return reciprocal


def catalogue_coverage(ranked: npt.NDArray[np.integer], n_items: int, k: int) -> float:
    """Share of the ``n_items`` catalogue that appears in at least one top-``k`` list.

    >>> catalogue_coverage(np.array([[0, 1], [1, -1]]), 4, 2)
    0.5
    """
    if n_items <= 0:
        raise ValueError(f"n_items must be positive, got {n_items}")
    shown = ranked[:, :k]
    return float(len(np.unique(shown[shown >= 0])) / n_items)


def mean_defined(values: FloatArray) -> float:
    """Mean over the users for whom a metric is defined; ``nan`` when it is defined for none.

    >>> mean_defined(np.array([1.0, np.nan, 0.0]))
    0.5
    """
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if len(defined) else float("nan")
