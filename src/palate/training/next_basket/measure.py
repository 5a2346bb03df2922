"""The paper's metrics for one method on one split, split into repeat and explore targets.

A target item is a *repeat* when the user bought it in their history, else it is an
*explore* item (Li et al.'s terms). Recall on repeat (explore) items averages over the users
with at least one repeat (explore) target, as the paper's ``model_performance.py`` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from palate.training.metrics import (
    IntArray,
    catalogue_coverage,
    hit_matrix,
    mean_defined,
    ndcg_at_k,
    phr_at_k,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
    relevant_counts,
)


def measure(
    ranked: IntArray,
    targets: sp.csr_array,
    history: sp.csr_array,
    ks: Sequence[int],
    n_items: int,
) -> dict[str, float]:
    """Mean metrics over the users (rows) of ``ranked``; keys like ``"Recall@10"``.

    >>> targets = sp.csr_array(np.array([[1, 1, 0, 0]]))
    >>> history = sp.csr_array(np.array([[1, 0, 1, 0]]))
    >>> m = measure(np.array([[0, 3]]), targets, history, [2], 4)
    >>> m["Recall@2"], m["Recall repeat@2"], m["Recall explore@2"], m["Repeat share@2"]
    (0.5, 1.0, 0.0, 0.5)
    """
    repeat_targets = sp.csr_array(targets.multiply(history))
    explore_targets = sp.csr_array(targets - repeat_targets)
    hits = hit_matrix(ranked, targets)
    repeat_hits = hit_matrix(ranked, repeat_targets)
    explore_hits = hit_matrix(ranked, explore_targets)
    from_history = hit_matrix(ranked, history)
    counts = relevant_counts(targets)
    out: dict[str, float] = {}
    for k in ks:
        filled = np.maximum((ranked[:, :k] >= 0).sum(axis=1), 1)
        out[f"Recall@{k}"] = mean_defined(recall_at_k(hits, counts, k))
        out[f"NDCG@{k}"] = mean_defined(ndcg_at_k(hits, counts, k))
        out[f"PHR@{k}"] = mean_defined(phr_at_k(hits, k))
        out[f"Precision@{k}"] = mean_defined(precision_at_k(hits, k))
        repeat = recall_at_k(repeat_hits, relevant_counts(repeat_targets), k)
        explore = recall_at_k(explore_hits, relevant_counts(explore_targets), k)
        out[f"Recall repeat@{k}"] = mean_defined(repeat)
        out[f"Recall explore@{k}"] = mean_defined(explore)
        out[f"Repeat share@{k}"] = mean_defined(from_history[:, :k].sum(axis=1) / filled)
        out[f"Coverage@{k}"] = catalogue_coverage(ranked, n_items, k)
    out["MRR"] = mean_defined(reciprocal_rank(hits))
    return out


def target_profile(targets: sp.csr_array, history: sp.csr_array) -> dict[str, float]:
    """How the targets split into repeat and explore items (the paper's Table 2 figures).

    >>> t = sp.csr_array(np.array([[1, 1, 0], [0, 0, 1]]))
    >>> h = sp.csr_array(np.array([[1, 0, 0], [0, 0, 1]]))
    >>> target_profile(t, h)["repeat share"]
    0.6666666666666666
    """
    repeat = sp.csr_array(targets.multiply(history))
    repeat.eliminate_zeros()
    counts = relevant_counts(targets).astype(np.float64)
    repeats = relevant_counts(repeat).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_user = np.where(counts > 0, repeats / counts, np.nan)
    return {
        "target items": float(counts.sum()),
        "mean target size": float(counts.mean()) if len(counts) else float("nan"),
        "repeat share": float(repeats.sum() / counts.sum()) if counts.sum() else float("nan"),
        "mean user repeat share": mean_defined(per_user),
    }
