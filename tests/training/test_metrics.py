"""Ranking metrics: hand-computed cases and agreement with a plain per-user reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from palate.training import metrics as m


def _relevant(rows: list[list[int]], n_items: int) -> sp.csr_array:
    dense = np.zeros((len(rows), n_items))
    for row, items in enumerate(rows):
        dense[row, items] = 1.0
    return sp.csr_array(dense)


def test_ndcg_two_targets_hit_at_ranks_one_and_three() -> None:
    hits = m.hit_matrix(np.array([[4, 7, 2]]), _relevant([[2, 4]], 8))
    expected = (1.0 + 1.0 / 2.0) / (1.0 + 1.0 / math.log2(3))
    assert m.ndcg_at_k(hits, np.array([2]), 3)[0] == pytest.approx(expected, abs=1e-12)


def test_ndcg_ideal_sums_over_all_targets_unless_cut_at_k() -> None:
    hits = np.array([[True, True]])
    all_three = (1.0 + 1.0 / math.log2(3)) / (1.0 + 1.0 / math.log2(3) + 0.5)
    assert m.ndcg_at_k(hits, np.array([3]), 2)[0] == pytest.approx(all_three)
    assert m.ndcg_at_k(hits, np.array([3]), 2, ideal="k")[0] == pytest.approx(1.0)


def test_recall_precision_phr_and_mrr_by_hand() -> None:
    ranked = np.array([[5, 1, 9, -1], [0, 2, 3, 4], [7, 8, -1, -1]])
    relevant = _relevant([[1, 2, 3, 9], [4], []], 10)
    hits = m.hit_matrix(ranked, relevant)
    counts = m.relevant_counts(relevant)
    assert counts.tolist() == [4, 1, 0]
    recall = m.recall_at_k(hits, counts, 3)
    assert recall[:2].tolist() == [0.5, 0.0]
    assert np.isnan(recall[2])
    assert m.precision_at_k(hits, 4).tolist() == [0.5, 0.25, 0.0]
    assert m.phr_at_k(hits, 3).tolist() == [1.0, 0.0, 0.0]
    assert m.hit_rate_at_k(hits, 4).tolist() == [1.0, 1.0, 0.0]
    assert m.reciprocal_rank(hits).tolist() == [0.5, 0.25, 0.0]
    assert m.reciprocal_rank(hits, 3).tolist() == [0.5, 0.0, 0.0]
    assert m.mean_defined(recall) == pytest.approx(0.25)


def test_padding_never_hits_and_shapes_must_agree() -> None:
    relevant = _relevant([[0]], 3)
    assert m.hit_matrix(np.array([[-1, -1]]), relevant).tolist() == [[False, False]]
    with pytest.raises(ValueError, match="rows"):
        m.hit_matrix(np.array([[0], [1]]), relevant)
    with pytest.raises(ValueError, match="k must be positive"):
        m.recall_at_k(np.zeros((1, 2), dtype=bool), np.array([1]), 0)


def test_catalogue_coverage_counts_distinct_items_in_top_k() -> None:
    ranked = np.array([[0, 1, 2], [0, 3, -1]])
    assert m.catalogue_coverage(ranked, 10, 2) == pytest.approx(0.3)
    assert m.catalogue_coverage(ranked, 10, 3) == pytest.approx(0.4)


def test_top_k_orders_breaks_ties_by_index_and_pads() -> None:
    scores = np.array([[1.0, 3.0, 3.0, -np.inf], [0.0, 0.0, 0.0, 0.0]])
    assert m.top_k(scores, 3).tolist() == [[1, 2, 0], [0, 1, 2]]
    assert m.top_k(scores, 6).tolist() == [[1, 2, 0, -1, -1, -1], [0, 1, 2, 3, -1, -1]]


def _reference(truth: set[int], ranked: list[int], k: int) -> tuple[float, float, float]:
    """Recall, NDCG and hit as in Li et al.'s evaluation/metrics.py, one user at a time."""
    top = ranked[:k]  # an empty slot (-1) keeps its rank and never matches
    dcg = sum(1.0 / math.log2(rank + 2) for rank, item in enumerate(top) if item in truth)
    idcg = sum(1.0 / math.log2(rank + 2) for rank in range(len(truth)))
    found = sum(item in truth for item in top)
    return found / len(truth), dcg / idcg, float(found > 0)


def test_vectorised_metrics_match_a_per_user_reference() -> None:
    rng = np.random.default_rng(3)
    n_users, n_items, k = 60, 40, 10
    truths = [set(rng.choice(n_items, rng.integers(1, 15), replace=False)) for _ in range(n_users)]
    ranked = np.array([rng.permutation(n_items)[:k] for _ in range(n_users)])
    ranked[rng.random(ranked.shape) < 0.1] = -1
    relevant = _relevant([sorted(t) for t in truths], n_items)
    hits = m.hit_matrix(ranked, relevant)
    counts = m.relevant_counts(relevant)
    expected = np.array([_reference(t, list(r), k) for t, r in zip(truths, ranked, strict=True)])
    np.testing.assert_allclose(m.recall_at_k(hits, counts, k), expected[:, 0])
    np.testing.assert_allclose(m.ndcg_at_k(hits, counts, k), expected[:, 1])
    np.testing.assert_allclose(m.phr_at_k(hits, k), expected[:, 2])
