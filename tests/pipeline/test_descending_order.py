"""``descending_order`` answers exactly what a stable descending argsort answers."""

from __future__ import annotations

import numpy as np
import pytest

from palate.pipeline.stages import RankedScores, descending_order


def _stable(scores: np.ndarray) -> list[int]:
    return np.argsort(-scores, kind="stable").tolist()


@pytest.mark.parametrize("seed", range(5))
def test_distinct_scores_match_the_stable_sort(seed: int) -> None:
    scores = np.random.default_rng(seed).normal(size=1_000)
    assert descending_order(scores).tolist() == _stable(scores)


@pytest.mark.parametrize("seed", range(5))
def test_ties_keep_row_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 20, 1_000).astype(np.float64)  # every value ~50 times
    assert descending_order(scores).tolist() == _stable(scores)


def test_nans_sort_last_in_row_order_and_signed_zeros_tie() -> None:
    scores = np.array([np.nan, 0.0, 1.0, -0.0, np.nan, 2.0, 0.0])
    assert descending_order(scores).tolist() == _stable(scores) == [5, 2, 1, 3, 6, 0, 4]


def test_a_single_nan_among_distinct_scores_sorts_last() -> None:
    scores = np.random.default_rng(9).normal(size=300)
    scores[17] = np.nan
    order = descending_order(scores)
    assert order[-1] == 17
    assert order.tolist() == _stable(scores)


def test_short_inputs() -> None:
    assert descending_order(np.array([])).tolist() == []
    assert descending_order(np.array([3.0])).tolist() == [0]


def test_ranked_scores_of_keeps_the_scores_and_orders_them() -> None:
    scores = np.array([0.1, 0.5, 0.3])
    ranked = RankedScores.of(scores)
    assert ranked.scores is scores
    assert ranked.order.tolist() == [1, 2, 0]
    assert ranked.order.dtype == np.int32
