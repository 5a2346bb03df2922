"""A seeded marketplace simulator: customers who behave like food-delivery data shows.

:func:`simulate` builds a catalog, plays app sessions ranked by a pluggable
:class:`RankingPolicy`, and returns the event log with the :class:`GroundTruth` behind it.
"""

from __future__ import annotations

from palate.simulate.config import NORDIC_CITIES, CitySpec, MarketSpec, SimulationConfig
from palate.simulate.engine import SimulationResult, World, build_world, simulate
from palate.simulate.policy import (
    OraclePolicy,
    PopularityDistancePolicy,
    RandomPolicy,
    RankingPolicy,
    SessionBatch,
)
from palate.simulate.summary import SimulationSummary, summarize
from palate.simulate.truth import GroundTruth

__all__ = [
    "NORDIC_CITIES",
    "CitySpec",
    "GroundTruth",
    "MarketSpec",
    "OraclePolicy",
    "PopularityDistancePolicy",
    "RandomPolicy",
    "RankingPolicy",
    "SessionBatch",
    "SimulationConfig",
    "SimulationResult",
    "SimulationSummary",
    "World",
    "build_world",
    "simulate",
    "summarize",
]
