"""Ranking policies that decide what simulated customers see; pluggable, batch-at-a-time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from palate.simulate.truth import GroundTruth
from palate.simulate.venues import VenueTable


@dataclass(frozen=True, slots=True)
class SessionBatch:
    """App opens ranked together, all in one city: what a live ranker could know.

    Row ``s`` of every per-session array is one session; ``distance_m`` and ``past_orders``
    are aligned with the ``candidates`` matrix passed to :meth:`RankingPolicy.score`
    (``past_orders`` counts the customer's earlier orders at each candidate).
    """

    request: np.ndarray
    user: np.ndarray
    ts_us: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    hour: np.ndarray
    weekday: np.ndarray
    day: np.ndarray
    city: int
    venues: VenueTable
    venue_orders: np.ndarray
    distance_m: np.ndarray
    past_orders: np.ndarray

    def __len__(self) -> int:
        return len(self.user)


class RankingPolicy(Protocol):
    """Scores candidates; the simulator shows the highest-scored ones first.

    ``candidates`` is ``(sessions, k)`` venue rows padded with ``-1``; the result has the same
    shape (scores of padding are ignored). Policies may keep state, e.g. a seeded generator.
    """

    def score(self, batch: SessionBatch, candidates: np.ndarray) -> np.ndarray:
        """Higher ranks first."""
        ...


@dataclass(slots=True)
class PopularityDistancePolicy:
    """The default: popular, well-rated and near first, with a little seeded jitter.

    Popularity is the venue's orders so far in the simulation plus a prior from its
    rating count, so new venues start low, as they do under popularity ranking.
    """

    popularity_weight: float = 0.5
    distance_per_km: float = 0.8
    rating_weight: float = 0.5
    jitter: float = 0.5
    seed: int = 0
    rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def score(self, batch: SessionBatch, candidates: np.ndarray) -> np.ndarray:
        """``p·log(1 + orders + ratings/20) + w·rating − d·km + jitter``."""
        venues = batch.venues
        rows = np.maximum(candidates, 0)
        popularity = np.log1p(batch.venue_orders[rows] + venues.rating_count[rows] / 20.0)
        rating = np.where(venues.rating_count[rows] > 0, venues.rating[rows], 4.0)
        score = (
            self.popularity_weight * popularity
            + self.rating_weight * rating
            - self.distance_per_km * batch.distance_m / 1000
        )
        return np.asarray(score + self.jitter * self.rng.standard_normal(candidates.shape))


@dataclass(slots=True)
class RandomPolicy:
    """Uniformly random order: logging data for unbiased off-policy evaluation."""

    seed: int = 0
    rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def score(self, batch: SessionBatch, candidates: np.ndarray) -> np.ndarray:  # noqa: ARG002
        """Independent uniform scores."""
        return self.rng.random(candidates.shape)


@dataclass(slots=True)
class OraclePolicy:
    """Ranks by the true static utility plus the customer's habit: an upper bound to beat."""

    truth: GroundTruth

    def score(self, batch: SessionBatch, candidates: np.ndarray) -> np.ndarray:
        """The ground-truth utility without the session noise."""
        rows = np.maximum(candidates, 0)
        users = batch.user[:, None]
        utility = self.truth.static_utility(
            users, rows, batch.hour[:, None], batch.day[:, None], batch.distance_m / 1000
        )
        return np.asarray(utility + self.truth.habit[users] * np.log1p(batch.past_orders))
