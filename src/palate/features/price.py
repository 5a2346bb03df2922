"""Customer price level: the decayed mean price level (1-4) of the venues the customer ordered from.

State: one counter per customer with slots ``level_sum`` and ``orders``; the mean is shrunk
towards ``prior_level`` by ``prior_weight`` pseudo-orders so that one order does not decide it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from palate.features.base import Columns, Finish, VenueRequest, constant
from palate.features.config import DAY_S, HOUR_S, positive, require
from palate.features.event_frame import EventFrame
from palate.features.store import CUSTOMER, CounterSpec, ReadBatch, ReadResults, WriteBatch

NAME = "customer_price"
LEVELS_SPAN = 3.0  # price levels run 1..4


@dataclass(frozen=True, slots=True)
class PriceConfig:
    """Options of ``[features.customer_price]``."""

    half_life_hours: float = 1_440.0
    ttl_days: float = 365.0
    prior_level: float = 2.0
    prior_weight: float = 1.0

    def __post_init__(self) -> None:
        positive(NAME, half_life_hours=self.half_life_hours, ttl_days=self.ttl_days)
        require(1 <= self.prior_level <= 4, NAME, "prior_level", "within 1-4", self.prior_level)
        require(self.prior_weight >= 0, NAME, "prior_weight", ">= 0", self.prior_weight)


class CustomerPrice:
    """Columns ``price_mean`` (the customer's level, same for every venue) and ``price_fit``
    (1 at the customer's level, 0 three levels away or when the venue's level is unknown).
    """

    name = NAME
    venue_columns = ("price_mean", "price_fit")
    per_customer = True

    def __init__(self, config: PriceConfig | None = None) -> None:
        self.config = config or PriceConfig()
        c = self.config
        self.spec = CounterSpec(
            "price",
            CUSTOMER,
            ("level_sum", "orders"),
            c.half_life_hours * HOUR_S,
            c.ttl_days * DAY_S,
        )

    def write(self, events: EventFrame, batch: WriteBatch) -> None:
        """Per order of a venue with a known level: add the level and one order."""
        if events.orders.is_empty():
            return  # most batches hold no order; skip the fixed cost of the join
        priced = events.orders.lazy().join(
            events.attributes.price_frame.lazy(), on="venue_id", how="inner"
        )
        base = priced.select(pl.col("user_id").alias("entity"), "ts", "price_level")
        levels = base.select("entity", "ts", slot=pl.lit(0), amount=pl.col("price_level"))
        orders = base.select("entity", "ts", slot=pl.lit(1), amount=pl.lit(1.0))
        batch.add_to_counter(self.spec, pl.concat([levels, orders]))

    def mean(self, level_sum: float, orders: float) -> float:
        """The shrunk mean level."""
        c = self.config
        return (level_sum + c.prior_level * c.prior_weight) / max(orders + c.prior_weight, 1e-12)

    def plan_venues(self, request: VenueRequest, reads: ReadBatch) -> Finish:
        """Read the customer's counter; venue levels come from the attributes."""
        handle = None if request.user_id is None else reads.counters(self.spec, [request.user_id])

        def finish(results: ReadResults) -> Columns:
            level_sum = orders = 0.0
            if handle is not None:
                row = results[handle].values[0]
                level_sum, orders = float(row[0]), float(row[1])
            mean = self.mean(level_sum, orders) if orders > 0 else self.config.prior_level
            levels = request.attributes.price_level_at(request.attribute_rows())
            fit = 1.0 - np.abs(levels - mean) / LEVELS_SPAN
            fit[np.isnan(fit)] = 0.0  # unknown price level: neutral
            return {"price_mean": constant(mean, len(levels)), "price_fit": fit}

        return finish
