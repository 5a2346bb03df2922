"""Customer × venue: how often the customer ordered from each venue (time-decayed) and when last.

State: one map per customer, ``venue_id → decayed order count`` with the last order time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from palate.features.base import Columns, Finish, VenueRequest
from palate.features.config import DAY_S, HOUR_S, positive, require
from palate.features.event_frame import EventFrame
from palate.features.store import CUSTOMER, MapSpec, ReadBatch, ReadResults, WriteBatch

NAME = "customer_venue"


@dataclass(frozen=True, slots=True)
class CustomerVenueConfig:
    """Options of ``[features.customer_venue]``."""

    half_life_hours: float = 720.0
    recency_half_life_hours: float = 168.0
    never_days: float = 365.0
    ttl_days: float = 180.0
    max_venues: int = 500

    def __post_init__(self) -> None:
        positive(
            NAME,
            half_life_hours=self.half_life_hours,
            recency_half_life_hours=self.recency_half_life_hours,
            never_days=self.never_days,
            ttl_days=self.ttl_days,
        )
        require(self.max_venues >= 1, NAME, "max_venues", ">= 1", self.max_venues)


class CustomerVenueHistory:
    """Columns ``cv_orders`` (decayed count), ``cv_days_since`` (capped at ``never_days``) and
    ``cv_recency`` (1 right after an order, halving every ``recency_half_life_hours``, 0 never).
    """

    name = NAME
    venue_columns = ("cv_orders", "cv_days_since", "cv_recency")
    per_customer = True

    def __init__(self, config: CustomerVenueConfig | None = None) -> None:
        self.config = config or CustomerVenueConfig()
        c = self.config
        self.spec = MapSpec(
            "cv", CUSTOMER, c.half_life_hours * HOUR_S, c.ttl_days * DAY_S, c.max_venues
        )

    def write(self, events: EventFrame, batch: WriteBatch) -> None:
        """One count per order, at the order's time."""
        if events.orders.is_empty():
            return  # most batches hold no order; skip the fixed cost of the query
        batch.add_to_map(
            self.spec,
            events.orders.lazy().select(
                pl.col("user_id").alias("entity"),
                pl.col("venue_id").alias("field"),
                pl.lit(1.0).alias("amount"),
                "ts",
            ),
        )

    def plan_venues(self, request: VenueRequest, reads: ReadBatch) -> Finish:
        """Read the customer's whole map (bounded by ``max_venues``)."""
        if request.user_id is None:
            return lambda _: self._columns(request, np.zeros(len(request.venue_ids)), None)
        handle = reads.map(self.spec, request.user_id)

        def finish(results: ReadResults) -> Columns:
            history = results[handle]
            if request.rows is None:
                counts, last = history.lookup(request.venue_ids)
            else:  # the serving path knows positions: match integers, not strings
                fields = request.attributes.positions(history.fields)
                counts, last = history.lookup_positions(request.rows, fields)
            return self._columns(request, counts, last)

        return finish

    def _columns(
        self, request: VenueRequest, counts: np.ndarray, last: np.ndarray | None
    ) -> Columns:
        n, c = len(request.venue_ids), self.config
        if last is None:
            return {
                "cv_orders": counts,
                "cv_days_since": np.full(n, c.never_days),
                "cv_recency": np.zeros(n),
            }
        # A customer has ordered from a handful of the candidates: work on those rows only.
        hits = np.flatnonzero(last == last)  # not NaN: ordered at least once
        age = np.maximum(request.now - last.take(hits), 0.0)
        days = np.full(n, c.never_days)
        days[hits] = np.minimum(age / DAY_S, c.never_days)
        recency = np.zeros(n)
        recency[hits] = 0.5 ** (age / (c.recency_half_life_hours * HOUR_S))
        return {"cv_orders": counts, "cv_days_since": days, "cv_recency": recency}
