"""Venue popularity: orders in sliding windows of event time, and by local hour of the week.

Windows are rings of buckets (``1h`` = 12 × 5 min, ``24h`` = 24 × 1 h, ``7d`` = 7 × 1 day), so
an hour-old burst leaves the ``1h`` window within one bucket. The hour-of-week counts are
decayed slowly and read for the request's hour; ``pop_how_lift`` compares that hour with the
venue's average hour (1 when nothing is known).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from palate.features.base import Columns, Finish, VenueRequest
from palate.features.config import DAY_S, HOUR_S, positive, require, timezone
from palate.features.event_frame import EventFrame, local_hour_of_week
from palate.features.store import VENUE, CounterSpec, ReadBatch, ReadResults, WindowSpec, WriteBatch

NAME = "venue_popularity"
HOURS_PER_WEEK = 168
_WINDOW = re.compile(r"^([1-9][0-9]*)([mhd])$")
_UNIT_S = {"m": 60.0, "h": HOUR_S, "d": DAY_S}


def parse_window(text: str) -> tuple[float, int]:
    """``(bucket seconds, buckets)`` of a window such as ``90m``, ``24h`` or ``7d``.

    Buckets are 5 minutes up to 2 hours, 1 hour up to 2 days, then 1 day.

    >>> parse_window("1h"), parse_window("24h"), parse_window("7d")
    ((300.0, 12), (3600.0, 24), (86400.0, 7))
    """
    match = _WINDOW.match(text)
    require(match is not None, NAME, "windows", "like '1h', '90m' or '7d'", text)
    assert match is not None  # noqa: S101 - for the type checker; require() raised otherwise
    span = int(match.group(1)) * _UNIT_S[match.group(2)]
    bucket = 300.0 if span <= 2 * HOUR_S else HOUR_S if span <= 2 * DAY_S else DAY_S
    require(span % bucket == 0, NAME, "windows", f"a whole number of {bucket:.0f} s buckets", text)
    return bucket, int(span // bucket)


@dataclass(frozen=True, slots=True)
class PopularityConfig:
    """Options of ``[features.venue_popularity]``."""

    windows: tuple[str, ...] = ("1h", "24h", "7d")
    timezone: str = "UTC"
    ttl_days: float = 8.0
    how_half_life_hours: float = 672.0
    how_ttl_days: float = 60.0
    how_prior_orders: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", tuple(self.windows))
        require(len(self.windows) > 0, NAME, "windows", "non-empty", self.windows)
        longest = max(bucket * n for bucket, n in map(parse_window, self.windows))
        positive(NAME, ttl_days=self.ttl_days, how_half_life_hours=self.how_half_life_hours)
        positive(NAME, how_ttl_days=self.how_ttl_days, how_prior_orders=self.how_prior_orders)
        rule = f">= the longest window ({longest / DAY_S:g} days)"
        require(self.ttl_days * DAY_S >= longest, NAME, "ttl_days", rule, self.ttl_days)
        timezone(NAME, self.timezone)


class VenuePopularity:
    """Columns ``pop_orders_<window>`` per window, ``pop_how`` and ``pop_how_lift``."""

    name = NAME

    def __init__(self, config: PopularityConfig | None = None) -> None:
        self.config = config or PopularityConfig()
        c = self.config
        self.window_columns = tuple(f"pop_orders_{w}" for w in c.windows)
        rings = tuple(parse_window(w) for w in c.windows)
        self.windows = WindowSpec("pop_orders", VENUE, rings, c.ttl_days * DAY_S)
        decay = (c.how_half_life_hours * HOUR_S, c.how_ttl_days * DAY_S)
        self.how = CounterSpec("pop_how", VENUE, ("orders",), *decay)
        self.total = CounterSpec("pop_total", VENUE, ("orders",), *decay)
        self.venue_columns = (*self.window_columns, "pop_how", "pop_how_lift")
        self.per_customer = False
        self._zone = ZoneInfo(c.timezone)

    def write(self, events: EventFrame, batch: WriteBatch) -> None:
        """Every order into each window, its hour of the week, and the venue total."""
        if events.orders.is_empty():
            return  # most batches hold no order; skip the fixed cost of the queries
        orders = events.orders.lazy().select(
            pl.col("venue_id").alias("entity"), "ts", amount=pl.lit(1.0)
        )
        batch.add_to_window(self.windows, orders)
        counted = orders.with_columns(slot=pl.lit(0))
        how = local_hour_of_week(pl.col("ts"), self.config.timezone).cast(pl.String)
        batch.add_to_counter(self.how, counted.with_columns(sub=how))
        batch.add_to_counter(self.total, counted)

    def hour_of_week(self, request: VenueRequest) -> int:
        """The request's local hour of the week (Monday 00:00 = 0)."""
        local = request.moment.astimezone(self._zone)
        return local.weekday() * 24 + local.hour

    def plan_venues(self, request: VenueRequest, reads: ReadBatch) -> Finish:
        """One MGET for the windows and two for the hour-of-week counters."""
        ids = request.venue_ids
        windows = reads.windows(self.windows, ids)
        how = reads.counters(self.how, ids, sub=str(self.hour_of_week(request)))
        total = reads.counters(self.total, ids)
        prior = self.config.how_prior_orders

        def finish(results: ReadResults) -> Columns:
            totals = results[windows]
            columns = {name: totals[:, r] for r, name in enumerate(self.window_columns)}
            in_hour = results[how].values[:, 0]
            overall = results[total].values[:, 0]
            columns["pop_how"] = in_hour
            columns["pop_how_lift"] = (in_hour * HOURS_PER_WEEK + prior) / (overall + prior)
            return columns

        return finish
