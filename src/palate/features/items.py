"""Item popularity per venue, and the customer's own item history.

State: per venue a map ``item_id → decayed quantity`` and a counter of the venue's total
quantity; per customer a map ``item_id → decayed number of orders`` with the last order time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from palate.features.base import Columns, Finish, ItemRequest
from palate.features.config import DAY_S, HOUR_S, positive, require
from palate.features.event_frame import EventFrame
from palate.features.store import (
    CUSTOMER,
    VENUE,
    CounterSpec,
    MapSpec,
    ReadBatch,
    ReadResults,
    WriteBatch,
)

NAME = "item_popularity"


@dataclass(frozen=True, slots=True)
class ItemPopularityConfig:
    """Options of ``[features.item_popularity]``."""

    half_life_hours: float = 336.0
    ttl_days: float = 90.0
    max_items: int = 5_000
    customer_half_life_hours: float = 2_160.0
    customer_ttl_days: float = 365.0
    max_customer_items: int = 1_000
    never_days: float = 365.0

    def __post_init__(self) -> None:
        positive(NAME, half_life_hours=self.half_life_hours, ttl_days=self.ttl_days)
        positive(NAME, customer_half_life_hours=self.customer_half_life_hours)
        positive(NAME, customer_ttl_days=self.customer_ttl_days, never_days=self.never_days)
        require(self.max_items >= 1, NAME, "max_items", ">= 1", self.max_items)
        require(
            self.max_customer_items >= 1,
            NAME,
            "max_customer_items",
            ">= 1",
            self.max_customer_items,
        )


class ItemPopularity:
    """Columns ``item_pop`` (decayed quantity), ``item_share`` (of the venue's quantity),
    ``user_item_orders`` and ``user_item_days_since`` (capped at ``never_days``).
    """

    name = NAME
    item_columns = ("item_pop", "item_share", "user_item_orders", "user_item_days_since")

    def __init__(self, config: ItemPopularityConfig | None = None) -> None:
        self.config = config or ItemPopularityConfig()
        c = self.config
        venue = (c.half_life_hours * HOUR_S, c.ttl_days * DAY_S)
        self.items = MapSpec("item_pop", VENUE, *venue, c.max_items)
        self.total = CounterSpec("item_total", VENUE, ("quantity",), *venue)
        self.customer = MapSpec(
            "user_items",
            CUSTOMER,
            c.customer_half_life_hours * HOUR_S,
            c.customer_ttl_days * DAY_S,
            c.max_customer_items,
        )

    def write(self, events: EventFrame, batch: WriteBatch) -> None:
        """Quantities per venue item; one count per ordered line per customer."""
        if events.order_lines.is_empty():
            return  # most batches hold no order; skip the fixed cost of the queries
        lines = events.order_lines.lazy()
        venue = lines.select(
            pl.col("venue_id").alias("entity"), "ts", "item_id", amount=pl.col("quantity")
        )
        batch.add_to_map(self.items, venue.rename({"item_id": "field"}))
        batch.add_to_counter(self.total, venue.with_columns(slot=pl.lit(0)))
        batch.add_to_map(
            self.customer,
            lines.select(
                pl.col("user_id").alias("entity"),
                pl.col("item_id").alias("field"),
                "ts",
                amount=pl.lit(1.0),
            ),
        )

    def plan_items(self, request: ItemRequest, reads: ReadBatch) -> Finish:
        """Only the candidate fields of the venue's and the customer's maps."""
        ids = list(request.item_ids)
        items = reads.map(self.items, request.venue_id, fields=ids, bounded=True)
        total = reads.counters(self.total, [request.venue_id])
        mine = (
            None
            if request.user_id is None
            else reads.map(self.customer, request.user_id, fields=ids)
        )
        never = self.config.never_days

        def finish(results: ReadResults) -> Columns:
            popularity, _ = results[items].aligned()
            venue_total = float(results[total].values[0, 0])
            share = popularity / venue_total if venue_total > 0 else np.zeros(len(ids))
            orders, last = (np.zeros(len(ids)), np.full(len(ids), np.nan))
            if mine is not None:
                orders, last = results[mine].aligned()
            age_days = np.maximum(request.now - last, 0.0) / DAY_S  # NaN: never ordered
            days = np.where(np.isnan(age_days), never, age_days)  # (nan_to_num's wrapper is slow)
            return {
                "item_pop": popularity,
                "item_share": share,
                "user_item_orders": orders,
                "user_item_days_since": np.minimum(days, never),
            }

        return finish
