"""Customer affinity to venue tags (cuisines or categories), time-decayed.

Each order (and, lightly, each venue click) spreads its weight evenly over the venue's tags;
the customer's map holds ``tag → decayed weight``. A venue's affinity is the largest share of
the customer's weight held by one of its tags, so a sushi lover scores 1 at a sushi-and-ramen
venue whatever its other tags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from palate.domain.events import EventType
from palate.features.base import Columns, Finish, VenueRequest
from palate.features.config import DAY_S, HOUR_S, positive, require
from palate.features.event_frame import EventFrame
from palate.features.store import CUSTOMER, MapSpec, ReadBatch, ReadResults, WriteBatch

TAG_KINDS = {"cuisines": "cuisine_affinity", "categories": "category_affinity"}


@dataclass(frozen=True, slots=True)
class AffinityConfig:
    """Options of ``[features.cuisine_affinity]`` and ``[features.category_affinity]``."""

    tags: str = "cuisines"
    half_life_hours: float = 1_440.0
    ttl_days: float = 365.0
    order_weight: float = 1.0
    click_weight: float = 0.1
    max_tags: int = 200

    def __post_init__(self) -> None:
        feature = TAG_KINDS.get(self.tags, "affinity")
        require(self.tags in TAG_KINDS, feature, "tags", "'cuisines' or 'categories'", self.tags)
        positive(feature, half_life_hours=self.half_life_hours, ttl_days=self.ttl_days)
        positive(feature, order_weight=self.order_weight)
        require(self.click_weight >= 0, feature, "click_weight", ">= 0", self.click_weight)
        require(self.max_tags >= 1, feature, "max_tags", ">= 1", self.max_tags)


class TagAffinity:
    """Column ``cuisine_affinity`` or ``category_affinity`` in [0, 1]."""

    def __init__(self, config: AffinityConfig | None = None) -> None:
        self.config = config or AffinityConfig()
        c = self.config
        self.name = TAG_KINDS[c.tags]
        self.venue_columns = (self.name,)
        self.per_customer = True
        self.spec = MapSpec(
            f"aff_{c.tags}", CUSTOMER, c.half_life_hours * HOUR_S, c.ttl_days * DAY_S, c.max_tags
        )

    def write(self, events: EventFrame, batch: WriteBatch) -> None:
        """Weight per order (and click) spread over the venue's tags."""
        c = self.config
        weight = pl.when(pl.col("stage") == 2).then(c.order_weight).otherwise(c.click_weight)
        stages = [2, 1] if c.click_weight > 0 else [2]  # orders, and clicks when they count
        acting = (
            {EventType.ORDER.value, EventType.CLICK.value}
            if c.click_weight > 0
            else {EventType.ORDER.value}
        )
        if not events.types & acting:
            return  # impressions only: not even the filter
        acted = events.venue_funnel.filter(pl.col("stage").is_in(stages))
        if acted.is_empty():
            return  # impressions only: skip the fixed cost of the join
        acts = acted.lazy()
        tagged = acts.join(events.attributes.tags(c.tags).long.lazy(), on="venue_id", how="inner")
        batch.add_to_map(
            self.spec,
            tagged.select(
                pl.col("user_id").alias("entity"),
                pl.col("tag").alias("field"),
                (weight * pl.col("weight")).alias("amount"),
                "ts",
            ),
        )

    def plan_venues(self, request: VenueRequest, reads: ReadBatch) -> Finish:
        """Read the customer's tag map; combine with the venues' tags in process."""
        n = len(request.venue_ids)
        if request.user_id is None:
            return lambda _: {self.name: np.zeros(n)}
        handle = reads.map(self.spec, request.user_id)
        table = request.attributes.tags(self.config.tags)

        def finish(results: ReadResults) -> Columns:
            profile = results[handle]
            affinity = np.zeros(n)
            total = profile.total()
            if total > 0:  # a venue's affinity is its best tag's share
                shares = table.per_tag(profile.fields, profile.values) / total
                affinity = table.best_at(request.attribute_rows(), shares)
            return {self.name: affinity}

        return finish
