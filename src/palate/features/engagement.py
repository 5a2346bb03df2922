"""Venue click-through and conversion rates with a Beta prior: impression → click → order.

State: one counter per venue with decayed ``impressions``, ``clicks`` and ``orders``. The rates
are posterior means: ``(clicks + prior_ctr * k) / (impressions + k)`` with ``k`` pseudo-views,
so a venue with no history reads as the prior and evidence moves it gradually.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from palate.features.base import Columns, Finish, VenueRequest
from palate.features.config import DAY_S, HOUR_S, positive, probability
from palate.features.event_frame import EventFrame
from palate.features.store import VENUE, CounterSpec, ReadBatch, ReadResults, WriteBatch

NAME = "venue_engagement"


@dataclass(frozen=True, slots=True)
class EngagementConfig:
    """Options of ``[features.venue_engagement]``."""

    half_life_hours: float = 168.0
    ttl_days: float = 60.0
    prior_ctr: float = 0.05
    prior_cvr: float = 0.2
    prior_strength: float = 50.0

    def __post_init__(self) -> None:
        positive(NAME, half_life_hours=self.half_life_hours, ttl_days=self.ttl_days)
        positive(NAME, prior_strength=self.prior_strength)
        probability(NAME, prior_ctr=self.prior_ctr, prior_cvr=self.prior_cvr)


def beta_mean(
    successes: np.ndarray, trials: np.ndarray, prior: float, strength: float
) -> np.ndarray:
    """Posterior mean of a rate under a Beta prior of mean ``prior`` and ``strength`` trials.

    >>> beta_mean(np.array([0.0, 30.0]), np.array([0.0, 100.0]), 0.1, 100.0).tolist()
    [0.1, 0.2]
    """
    rate = (successes + prior * strength) / (trials + strength)
    # Clicks can outnumber logged impressions (lost beacons); a rate stays a probability.
    return np.clip(rate, 0.0, 1.0)


class VenueEngagement:
    """Columns ``ctr``, ``cvr`` (orders per click) and ``impressions`` (decayed)."""

    name = NAME
    venue_columns = ("ctr", "cvr", "impressions")
    per_customer = False

    def __init__(self, config: EngagementConfig | None = None) -> None:
        self.config = config or EngagementConfig()
        c = self.config
        self.spec = CounterSpec(
            "eng",
            VENUE,
            ("impressions", "clicks", "orders"),
            c.half_life_hours * HOUR_S,
            c.ttl_days * DAY_S,
        )

    def write(self, events: EventFrame, batch: WriteBatch) -> None:
        """Impressions and clicks of venues, and orders, each in its slot."""
        if events.venue_funnel.is_empty():
            return
        batch.add_to_counter(
            self.spec,
            events.venue_funnel.lazy().select(
                pl.col("venue_id").alias("entity"),
                pl.col("stage").alias("slot"),
                "ts",
                amount=pl.lit(1.0),
            ),
        )

    def plan_venues(self, request: VenueRequest, reads: ReadBatch) -> Finish:
        """Read every candidate's counter in one MGET."""
        handle = reads.counters(self.spec, request.venue_ids)
        c = self.config

        def finish(results: ReadResults) -> Columns:
            funnel = results[handle]
            impressions, clicks = funnel.column("impressions"), funnel.column("clicks")
            return {
                "ctr": beta_mean(clicks, impressions, c.prior_ctr, c.prior_strength),
                "cvr": beta_mean(funnel.column("orders"), clicks, c.prior_cvr, c.prior_strength),
                "impressions": impressions,
            }

        return finish
