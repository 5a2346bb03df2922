"""The heuristic scorer's score is its terms' sum, bit for bit, on awkward inputs."""

from __future__ import annotations

import numpy as np
import pytest

from palate.pipeline.candidates import Candidates
from palate.ranking.heuristic import (
    HeuristicScorer,
    HeuristicWeights,
    heuristic_terms,
)


def awkward_candidates(seed: int, n: int) -> Candidates:
    """Continuous and tied values, zeros, negatives (bad counts) and a few NaNs."""
    rng = np.random.default_rng(seed)
    columns = {
        "distance_m": rng.uniform(0, 8_000, n).round(rng.integers(0, 3)),
        "prep_time_min": rng.choice([5.0, 10.0, 15.0, 12.5], n),
        "rating": rng.uniform(0, 5, n).round(1),
        "rating_count": rng.integers(-1, 500, n).astype(np.float64),
        "pop_orders_7d": rng.choice([0.0, 1.0, 3.0, -2.0, 250.0], n),
        "cv_orders": rng.poisson(0.3, n).astype(np.float64),
    }
    for values in columns.values():
        values[rng.random(n) < 0.02] = np.nan
    return Candidates(np.arange(n, dtype=np.int32), columns)


@pytest.mark.parametrize(
    "weights",
    [
        HeuristicWeights(),
        HeuristicWeights(
            distance=0.7,
            rating=1.3,
            popularity=0.0,
            history=3.5,
            km_per_min=0.31,
            rating_prior_mean=3.9,
            rating_prior_count=7.0,
        ),
    ],
)
@pytest.mark.parametrize(("seed", "n"), [(0, 970), (1, 1), (2, 0), (3, 64)])
def test_the_score_is_the_sum_of_the_explained_terms(
    weights: HeuristicWeights, seed: int, n: int
) -> None:
    candidates = awkward_candidates(seed, n)
    expected = sum(heuristic_terms(candidates, weights).values(), np.zeros(n))
    got = HeuristicScorer(weights).score(None, candidates)  # type: ignore[arg-type]
    np.testing.assert_array_equal(got, expected)  # NaN where NaN, equal elsewhere
    # and so the ranking, ties in input order, is the same
    np.testing.assert_array_equal(
        np.argsort(-got, kind="stable"), np.argsort(-expected, kind="stable")
    )


def test_inputs_are_left_untouched() -> None:
    candidates = awkward_candidates(4, 200)
    before = {name: column.copy() for name, column in candidates.features.items()}
    HeuristicScorer(HeuristicWeights()).score(None, candidates)  # type: ignore[arg-type]
    for name, column in candidates.features.items():
        np.testing.assert_array_equal(column, before[name])


def test_no_popularity_at_all_leaves_the_term_unscaled() -> None:
    candidates = awkward_candidates(5, 50)
    candidates.features["pop_orders_7d"] = np.zeros(50)
    weights = HeuristicWeights()
    expected = sum(heuristic_terms(candidates, weights).values(), np.zeros(50))
    got = HeuristicScorer(weights).score(None, candidates)  # type: ignore[arg-type]
    np.testing.assert_array_equal(got, expected)
