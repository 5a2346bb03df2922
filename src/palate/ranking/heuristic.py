"""The transparent heuristic ranker: ETA, Bayesian rating, popularity and the customer's habit.

It is the fallback behind every learned ranker, so it must never need anything a request
cannot supply: all inputs are catalog attributes and order counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates, FloatArray
from palate.settings import HeuristicSettings

HEURISTIC_FEATURES = (
    "distance_m",
    "prep_time_min",
    "rating",
    "rating_count",
    "pop_orders_7d",
    "cv_orders",
)


@dataclass(frozen=True, slots=True)
class HeuristicWeights:
    """Weights of each term; see ``[heuristic]`` in ``palate.example.toml``."""

    distance: float = 1.0
    rating: float = 1.0
    popularity: float = 1.0
    history: float = 2.0
    rating_prior_mean: float = 4.2
    rating_prior_count: float = 20.0
    km_per_min: float = 0.25


def weights_from(settings: HeuristicSettings) -> HeuristicWeights:
    """The heuristic ranker's weights from the ``[heuristic]`` settings."""
    return HeuristicWeights(
        distance=settings.distance_weight,
        rating=settings.rating_weight,
        popularity=settings.popularity_weight,
        history=settings.history_weight,
        rating_prior_mean=settings.rating_prior_mean,
        rating_prior_count=settings.rating_prior_count,
        km_per_min=settings.eta_km_per_min,
    )


def bayesian_rating(
    rating: FloatArray, count: FloatArray, mean: float, weight: float
) -> FloatArray:
    """Shrink each rating towards ``mean`` as if it had ``weight`` extra votes at the mean.

    >>> bayesian_rating(np.array([5.0, 5.0]), np.array([1.0, 1000.0]), 4.0, 9.0).round(3).tolist()
    [4.1, 4.991]
    """
    result: FloatArray = (rating * count + mean * weight) / (count + weight)
    return result


def catalog_terms(candidates: Candidates, w: HeuristicWeights) -> dict[str, FloatArray]:
    """The terms any request can supply from the catalog alone: ETA and Bayesian rating."""
    eta_min = candidates.feature("prep_time_min") + (
        candidates.feature("distance_m") / 1000.0 / w.km_per_min
    )
    rating = bayesian_rating(
        candidates.feature("rating"),
        candidates.feature("rating_count"),
        w.rating_prior_mean,
        w.rating_prior_count,
    )
    return {"eta": -eta_min / 30.0, "rating": rating - w.rating_prior_mean}


def popularity_peak(candidates: Candidates) -> float:
    """The normaliser of the popularity term: the largest ``log1p`` popularity present."""
    if not len(candidates):
        return 0.0
    return float(np.log1p(np.maximum(candidates.feature("pop_orders_7d"), 0.0)).max())


def heuristic_terms(
    candidates: Candidates, w: HeuristicWeights, peak: float | None = None
) -> dict[str, FloatArray]:
    """Each weighted term of the heuristic score; their sum is the score.

    ``peak`` normalises popularity; explanations of a few rows pass the peak of all the
    candidates the scorer saw, so their terms still sum to the served score.

    >>> c = Candidates(np.arange(1, dtype=np.int32), {"prep_time_min": np.array([10.0]),
    ...     "distance_m": np.array([5000.0]), "rating": np.array([4.2]),
    ...     "rating_count": np.array([10.0]), "pop_orders_7d": np.array([0.0]),
    ...     "cv_orders": np.array([0.0])})
    >>> {k: round(float(v[0]), 3) for k, v in heuristic_terms(c, HeuristicWeights()).items()}
    {'eta': -1.0, 'rating': 0.0, 'popularity': 0.0, 'habit': 0.0}
    """
    base = catalog_terms(candidates, w)
    popularity = np.log1p(np.maximum(candidates.feature("pop_orders_7d"), 0.0))
    if peak is None:  # popularity_peak's answer, from the column just computed
        peak = float(popularity.max()) if len(popularity) else 0.0
    habit = np.log1p(np.maximum(candidates.feature("cv_orders"), 0.0))
    return {
        "eta": w.distance * base["eta"],
        "rating": w.rating * base["rating"],
        "popularity": w.popularity * (popularity / peak if peak > 0 else popularity),
        "habit": w.history * habit,
    }


class HeuristicScorer:
    """Sum of weighted terms, each roughly on a unit scale."""

    name = "heuristic"

    def __init__(self, weights: HeuristicWeights) -> None:
        self.weights = weights

    def score(self, request: RankingRequest, candidates: Candidates) -> FloatArray:  # noqa: ARG002
        """Higher for close, well-rated, popular venues the customer already likes."""
        terms = iter(heuristic_terms(candidates, self.weights).values())
        total: FloatArray = next(terms).copy()
        for term in terms:  # in place, in the terms' order: the explanation adds them the same way
            total += term
        return total


class ProximityScorer:
    """Last-resort fallback: ETA and rating only, both known from the catalog alone."""

    name = "proximity"

    def __init__(self, weights: HeuristicWeights) -> None:
        self.weights = weights

    def score(self, request: RankingRequest, candidates: Candidates) -> FloatArray:  # noqa: ARG002
        """Closer and better-rated first."""
        terms = catalog_terms(candidates, self.weights)
        result: FloatArray = terms["eta"] + terms["rating"]
        return result
