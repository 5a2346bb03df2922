"""Popularity: the fallback between the heuristic and plain proximity.

It needs only the venues' recent order counts (one online feature) and the catalog rating, so it
still ranks sensibly when the customer's own features are missing or the heuristic fails.
"""

from __future__ import annotations

import numpy as np

from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates, FloatArray
from palate.ranking.heuristic import HeuristicWeights, bayesian_rating


class PopularityScorer:
    """Most ordered in the last week first; the Bayesian rating breaks ties.

    >>> c = Candidates(np.array([0, 1], dtype=np.int32), {"pop_orders_7d": np.array([3.0, 90.0]),
    ...     "rating": np.array([4.8, 4.0]), "rating_count": np.array([50.0, 50.0])})
    >>> PopularityScorer(HeuristicWeights()).score(None, c).argmax()  # type: ignore[arg-type]
    np.int64(1)
    """

    name = "popularity"

    def __init__(self, weights: HeuristicWeights) -> None:
        self.weights = weights

    def score(self, request: RankingRequest, candidates: Candidates) -> FloatArray:  # noqa: ARG002
        """log(1 + orders in 7 days), plus a rating term smaller than one order's worth."""
        w = self.weights
        popularity = np.log1p(np.maximum(candidates.feature("pop_orders_7d"), 0.0))
        rating = bayesian_rating(
            candidates.feature("rating"),
            candidates.feature("rating_count"),
            w.rating_prior_mean,
            w.rating_prior_count,
        )
        result: FloatArray = popularity + 0.01 * rating
        return result
