"""A batch-computed venue profile served from a versioned snapshot.

``refresh`` recomputes every venue's profile from the event log (orders in the look-back
window) and publishes it as a new snapshot version, activated only once complete; a refresh
that fails half-way is discarded and the previous profile keeps being served. Nothing here
expires, so a stalled batch job degrades freshness, never availability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from palate.features.base import Columns, Finish, VenueRequest
from palate.features.config import DAY_S, positive, require
from palate.features.event_frame import EventFrame
from palate.features.store import (
    VENUE,
    FeatureStore,
    ReadBatch,
    ReadResults,
    SnapshotSpec,
    WriteBatch,
)

NAME = "venue_profile"
PROFILE_COLUMNS = ("orders", "customers", "repeat_rate", "avg_total")


@dataclass(frozen=True, slots=True)
class VenueProfileConfig:
    """Options of ``[features.venue_profile]``."""

    lookback_days: float = 90.0
    chunk: int = 10_000

    def __post_init__(self) -> None:
        positive(NAME, lookback_days=self.lookback_days)
        require(self.chunk >= 1, NAME, "chunk", ">= 1", self.chunk)


class VenueProfile:
    """Columns ``vp_orders``, ``vp_customers``, ``vp_repeat_rate`` (share of the venue's
    customers who ordered twice or more) and ``vp_avg_total``; 0 for venues without a profile.
    """

    name = NAME
    venue_columns = tuple(f"vp_{column}" for column in PROFILE_COLUMNS)
    per_customer = False

    def __init__(self, config: VenueProfileConfig | None = None) -> None:
        self.config = config or VenueProfileConfig()
        self.spec = SnapshotSpec(NAME, VENUE, PROFILE_COLUMNS)

    def write(self, events: EventFrame, batch: WriteBatch) -> None:
        """Nothing per event: the profile is rebuilt in bulk by :meth:`refresh`."""

    def compute(self, events: EventFrame, now: float) -> pl.DataFrame:
        """One row per venue with orders in ``(now - lookback, now]``, columns as the snapshot."""
        start = now - self.config.lookback_days * DAY_S
        orders = events.orders.filter((pl.col("ts") > start) & (pl.col("ts") <= now))
        per_customer = orders.group_by("venue_id", "user_id").agg(pl.len().alias("n"))
        customers = per_customer.group_by("venue_id").agg(
            pl.len().cast(pl.Float64).alias("customers"),
            (pl.col("n") >= 2).mean().alias("repeat_rate"),
        )
        totals = orders.group_by("venue_id").agg(
            pl.len().cast(pl.Float64).alias("orders"),
            pl.col("total").mean().fill_null(0.0).alias("avg_total"),
        )
        return (
            totals.join(customers, on="venue_id")
            .select("venue_id", *PROFILE_COLUMNS)
            .sort("venue_id")
        )

    def refresh(self, store: FeatureStore, events: EventFrame, now: float) -> int:
        """Publish a new version from ``events``; on any failure the old one stays served."""
        profile = self.compute(events, now)
        version = store.begin_snapshot(self.spec)
        try:
            for part in profile.iter_slices(self.config.chunk):
                values = part.select(PROFILE_COLUMNS).to_numpy().astype(np.float32)
                store.put_snapshot(self.spec, version, part["venue_id"].to_list(), values)
            store.activate_snapshot(self.spec, version)
        except BaseException:
            store.discard_snapshot(self.spec, version)
            raise
        return version

    def plan_venues(self, request: VenueRequest, reads: ReadBatch) -> Finish:
        """Rows of the active version for every candidate."""
        handle = reads.snapshot(self.spec, request.venue_ids)

        def finish(results: ReadResults) -> Columns:
            rows = results[handle]
            return {
                f"vp_{column}": np.nan_to_num(rows.column(column).astype(np.float64), nan=0.0)
                for column in PROFILE_COLUMNS
            }

        return finish
