"""Item popularity at this hour: decayed quantities per item and local hour of the day.

State, per venue: a map ``item_id → decayed quantity`` for each local hour of the day (sub-key
``h00`` … ``h23``, in the time zone of the venue's city), the same map over the whole day, and
a 24-slot counter of the venue's quantity per hour (its daily rhythm).

One hour of one item is sparse, so its share of the item's sales is smoothed toward the
venue's rhythm: ``share = (q_ih + k · r_h) / (q_i + k)`` with ``k`` = ``prior_quantity``
pseudo-sales and ``r_h`` the venue's (smoothed) share of sales at hour ``h``. The lift
``share / r_h`` says how much more than the venue as a whole the item sells at this hour (1 when
nothing is known), and ``item_pop_hour = q_i · lift`` is all-day popularity bent toward the
hour: a rarely sold item keeps its all-day popularity, a breakfast item loses it at dinner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from palate.features.base import Columns
from palate.features.config import DAY_S, HOUR_S, positive, require, timezone
from palate.features.event_frame import EventFrame, local_hour_of_week
from palate.features.store import (
    VENUE,
    CounterSpec,
    FeatureStore,
    Handle,
    MapSpec,
    MapValues,
    ReadBatch,
    ReadResults,
    WriteBatch,
)
from palate.features.store.reads import CounterValues

NAME = "item_hour_popularity"
HOURS = 24
HOUR_SLOTS = tuple(f"h{h:02d}" for h in range(HOURS))
ITEM_HOUR_COLUMNS = ("item_pop_hour", "item_hour_lift")


@dataclass(frozen=True, slots=True)
class ItemHourConfig:
    """Options of ``[features.item_hour_popularity]``."""

    half_life_hours: float = 672.0
    ttl_days: float = 90.0
    max_items: int = 5_000
    prior_quantity: float = 5.0
    rhythm_prior: float = 1.0
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        positive(NAME, half_life_hours=self.half_life_hours, ttl_days=self.ttl_days)
        positive(NAME, prior_quantity=self.prior_quantity, rhythm_prior=self.rhythm_prior)
        require(self.max_items >= 1, NAME, "max_items", ">= 1", self.max_items)
        timezone(NAME, self.timezone)


@dataclass(frozen=True, slots=True)
class HourReads:
    """The handles of one request's reads (see :meth:`ItemHourPopularity.plan`)."""

    item_ids: tuple[str, ...]
    hour: int
    in_hour: Handle[MapValues]
    all_day: Handle[MapValues]
    rhythm: Handle[CounterValues]


def local_hour(ts: pl.Expr, zone_of: pl.Expr, zones: Sequence[str]) -> pl.Expr:
    """The local hour of the day of epoch seconds ``ts``, each row in its zone ``zone_of``.

    ``zones`` are the distinct values of ``zone_of`` in the frame: one conversion per zone.
    """
    hour = pl.lit(None, dtype=pl.Int64)
    for zone in zones:
        hour = pl.when(zone_of == zone).then(local_hour_of_week(ts, zone) % HOURS).otherwise(hour)
    return hour


class ItemHourPopularity:
    """Columns :data:`ITEM_HOUR_COLUMNS`; read by the in-venue premise in one store read.

    The write path runs with every other feature (:meth:`FeatureService.ingest`); the read path
    needs the venue's time zone, which item reads do not carry, so the premise's hydrator calls
    :meth:`plan` and :meth:`columns` itself.
    """

    name = NAME

    def __init__(self, config: ItemHourConfig | None = None) -> None:
        self.config = config or ItemHourConfig()
        c = self.config
        decay = (c.half_life_hours * HOUR_S, c.ttl_days * DAY_S)
        self.in_hour = MapSpec("item_hour", VENUE, *decay, c.max_items)
        self.all_day = MapSpec("item_hour_day", VENUE, *decay, c.max_items)
        self.rhythm = CounterSpec("item_hour_rhythm", VENUE, HOUR_SLOTS, *decay)

    def write(self, events: EventFrame, batch: WriteBatch) -> None:
        """Each order line's quantity at its venue's local hour, whole-day and in the rhythm."""
        if events.order_lines.is_empty():
            return  # most batches hold no order; skip the fixed cost of the queries
        lines = events.order_lines.lazy()
        zones = events.attributes.timezones
        zone_of = pl.col("venue_id").replace_strict(
            dict(zones), default=self.config.timezone, return_dtype=pl.String
        )
        present = lines.select(zone_of.unique().alias("zone")).collect()["zone"].to_list()
        hour = local_hour(pl.col("ts"), zone_of, present)
        rows = lines.select(
            pl.col("venue_id").alias("entity"),
            pl.col("item_id").alias("field"),
            "ts",
            pl.col("quantity").alias("amount"),
            hour.alias("slot"),
        )
        batch.add_to_map(
            self.in_hour, rows.select("entity", "field", "ts", "amount", sub=_hour_key("slot"))
        )
        batch.add_to_map(self.all_day, rows.select("entity", "field", "ts", "amount"))
        batch.add_to_counter(self.rhythm, rows.select("entity", "slot", "ts", "amount"))

    def hour_at(self, moment: datetime, zone: str | None) -> int:
        """The local hour of ``moment`` at a venue in ``zone`` (the configured zone if None)."""
        return moment.astimezone(ZoneInfo(zone or self.config.timezone)).hour

    def plan(
        self, reads: ReadBatch, venue_id: str, item_ids: Sequence[str], hour: int
    ) -> HourReads:
        """Register this hour's and the whole day's map (candidate fields only) and the rhythm."""
        ids = tuple(item_ids)
        return HourReads(
            ids,
            hour,
            reads.map(self.in_hour, venue_id, sub=HOUR_SLOTS[hour], fields=ids, bounded=True),
            reads.map(self.all_day, venue_id, fields=ids, bounded=True),
            reads.counters(self.rhythm, [venue_id]),
        )

    def columns(self, results: ReadResults, planned: HourReads) -> Columns:
        """``item_pop_hour`` and ``item_hour_lift`` aligned with the planned item ids."""
        in_hour, _ = results[planned.in_hour].aligned()
        all_day, _ = results[planned.all_day].aligned()
        rhythm = results[planned.rhythm].values[0]
        return hour_columns(in_hour, all_day, rhythm, planned.hour, self.config)

    def read(
        self,
        store: FeatureStore,
        venue_id: str,
        item_ids: Sequence[str],
        moment: datetime,
        zone: str | None,
    ) -> Columns:
        """The columns in one store read (for callers without a shared batch)."""
        reads = ReadBatch()
        planned = self.plan(reads, venue_id, item_ids, self.hour_at(moment, zone))
        return self.columns(store.read(reads, moment.timestamp()), planned)


def _hour_key(slot: str) -> pl.Expr:
    return pl.lit("h") + pl.col(slot).cast(pl.String).str.zfill(2)


def hour_columns(
    in_hour: np.ndarray,
    all_day: np.ndarray,
    rhythm: np.ndarray,
    hour: int,
    config: ItemHourConfig,
) -> Columns:
    """The smoothed hour lift and hour popularity of items (see the module's docstring).

    >>> config = ItemHourConfig(prior_quantity=5.0, rhythm_prior=1.0)
    >>> rhythm = np.zeros(24); rhythm[8] = rhythm[20] = 50.0
    >>> cols = hour_columns(np.array([10.0, 0.0, 0.0]), np.array([10.0, 10.0, 0.0]), rhythm, 8,
    ...                     config)
    >>> cols["item_hour_lift"].round(2).tolist(), cols["item_pop_hour"].round(1).tolist()
    ([1.68, 0.33, 1.0], [16.8, 3.3, 0.0])
    """
    total = float(rhythm.sum())
    venue_share = (float(rhythm[hour]) + config.rhythm_prior / HOURS) / (
        total + config.rhythm_prior
    )
    k = config.prior_quantity
    share = (in_hour + k * venue_share) / (all_day + k)
    lift = share / venue_share
    return {"item_pop_hour": all_day * lift, "item_hour_lift": lift}
