"""Item co-purchase counters: how often two items of one venue were ordered together.

State: per venue and anchor item, a map ``other item → decayed number of orders holding both``
(bounded to the strongest ``max_pairs_per_item``). Pairs come from a self-join of each order's
lines, capped at ``max_items_per_order`` items so that a huge basket cannot flood the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from palate.features.base import Columns, Finish, ItemRequest
from palate.features.config import DAY_S, HOUR_S, positive, require
from palate.features.event_frame import EventFrame
from palate.features.store import VENUE, MapSpec, MapValues, ReadBatch, ReadResults, WriteBatch
from palate.pipeline.candidates import FloatArray

NAME = "co_purchase"


@dataclass(frozen=True, slots=True)
class CoPurchaseConfig:
    """Options of ``[features.co_purchase]``."""

    half_life_hours: float = 2_160.0
    ttl_days: float = 180.0
    max_items_per_order: int = 30
    max_pairs_per_item: int = 200

    def __post_init__(self) -> None:
        positive(NAME, half_life_hours=self.half_life_hours, ttl_days=self.ttl_days)
        n_items, n_pairs = self.max_items_per_order, self.max_pairs_per_item
        require(n_items >= 2, NAME, "max_items_per_order", ">= 2", n_items)
        require(n_pairs >= 1, NAME, "max_pairs_per_item", ">= 1", n_pairs)


def order_pairs(lines: pl.LazyFrame, max_items: int) -> pl.LazyFrame:
    """Ordered pairs of distinct items within each order: venue_id, item_id, other, ts.

    >>> lines = pl.DataFrame({"order_id": ["o"] * 3, "venue_id": ["v"] * 3, "ts": [1.0] * 3,
    ...                       "item_id": ["a", "b", "a"]})
    >>> sorted(order_pairs(lines.lazy(), 10).select("item_id", "other").collect().rows())
    [('a', 'b'), ('b', 'a')]
    """
    items = (
        lines.select("order_id", "venue_id", "ts", "item_id")
        .unique(subset=["order_id", "item_id"], keep="first", maintain_order=True)
        .filter(pl.int_range(pl.len()).over("order_id") < max_items)
    )
    others = items.select("order_id", pl.col("item_id").alias("other"))
    return (
        items.join(others, on="order_id", how="inner")
        .filter(pl.col("item_id") != pl.col("other"))
        .select("venue_id", "item_id", "other", "ts")
    )


class CoPurchase:
    """Column ``co_purchase``: for each candidate, the summed co-purchase counts with the cart."""

    name = NAME
    item_columns = ("co_purchase",)

    def __init__(self, config: CoPurchaseConfig | None = None) -> None:
        self.config = config or CoPurchaseConfig()
        c = self.config
        self.spec = MapSpec(
            "cop", VENUE, c.half_life_hours * HOUR_S, c.ttl_days * DAY_S, c.max_pairs_per_item
        )

    def write(self, events: EventFrame, batch: WriteBatch) -> None:
        """One count per order for each ordered pair of its distinct items."""
        if events.order_lines.is_empty():
            return  # most batches hold no order; skip the fixed cost of the query
        pairs = order_pairs(events.order_lines.lazy(), self.config.max_items_per_order)
        batch.add_to_map(
            self.spec,
            pairs.select(
                pl.col("venue_id").alias("entity"),
                pl.col("item_id").alias("sub"),
                pl.col("other").alias("field"),
                "ts",
                amount=pl.lit(1.0),
            ),
        )

    def plan_items(self, request: ItemRequest, reads: ReadBatch) -> Finish:
        """Candidates' counts with every item of the cart."""
        ids = list(request.item_ids)
        handles = [
            reads.map(self.spec, request.venue_id, sub=a, fields=ids, bounded=True)
            for a in dict.fromkeys(request.cart)
        ]

        def finish(results: ReadResults) -> Columns:
            return {"co_purchase": summed_aligned([results[h] for h in handles], len(ids))}

        return finish


def summed_aligned(maps: list[MapValues], count: int) -> FloatArray:
    """Per named field, the sum of its values over maps that were each read for the same
    ``count`` named fields (see :meth:`MapValues.aligned`)."""
    total = np.zeros(count)
    for values in maps:
        total += values.aligned()[0]
    return total


def summed(maps: list[MapValues], ids: Sequence[str] | npt.NDArray[np.str_]) -> FloatArray:
    """Per id, the sum of its values over several maps."""
    total = np.zeros(len(ids))
    for values in maps:
        total += values.lookup(ids)[0]
    return total
