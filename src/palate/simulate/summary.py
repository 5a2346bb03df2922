"""Headline figures of a simulation and a plain-text report with orders by local hour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from palate.domain.catalog import Catalog
from palate.simulate.engine import SimulationResult

BAR_WIDTH = 40


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    """Counts from the event log; ``repeat_share`` is the share of orders placed at a venue the
    same customer had already ordered from in the log; hours are the venue's local time.
    """

    customers: int
    buyers: int
    venues: int
    sessions: int
    impressions: int
    clicks: int
    add_to_carts: int
    orders: int
    repeat_share: float
    orders_by_hour: tuple[int, ...]

    def format(self) -> str:
        """A human-readable report with an ASCII bar chart of orders by hour."""
        conversion = self.orders / self.sessions if self.sessions else 0.0
        ctr = self.clicks / self.impressions if self.impressions else 0.0
        lines = [
            "Simulated marketplace",
            f"  customers     {self.customers:>10,}  ({self.buyers:,} ordered)",
            f"  venues        {self.venues:>10,}",
            f"  sessions      {self.sessions:>10,}",
            f"  impressions   {self.impressions:>10,}",
            f"  clicks        {self.clicks:>10,}  ({ctr:.1%} of impressions)",
            f"  add to carts  {self.add_to_carts:>10,}",
            f"  orders        {self.orders:>10,}  ({conversion:.1%} of sessions)",
            f"  repeat share  {self.repeat_share:>10.1%}",
            "Orders by local hour",
        ]
        peak = max(self.orders_by_hour, default=0) or 1
        for hour, count in enumerate(self.orders_by_hour):
            bar = "#" * round(BAR_WIDTH * count / peak)
            lines.append(f"  {hour:02d} {bar:<{BAR_WIDTH}} {count:,}")
        return "\n".join(lines)


def _timezones(catalog: Catalog) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "venue_id": list(catalog.venues),
            "tz": [catalog.timezone_of(v) for v in catalog.venues.values()],
        }
    )


def orders_by_local_hour(orders: pl.DataFrame, catalog: Catalog) -> np.ndarray:
    """Counts of ``orders`` (with ``venue_id`` and ``ts``) per local hour of their venue."""
    joined = orders.join(_timezones(catalog), on="venue_id", how="left")
    counts = np.zeros(24, dtype=np.int64)
    for (tz,), part in joined.group_by(["tz"]):
        hours = part["ts"].dt.convert_time_zone(str(tz)).dt.hour().to_numpy()
        counts += np.bincount(hours, minlength=24)
    return counts


def repeat_flags(orders: pl.DataFrame) -> pl.Series:
    """Whether each order (in ``ts`` order) went to a venue its customer had ordered from."""
    ranked = orders.sort("ts").with_columns(
        earlier=pl.int_range(pl.len()).over(["user_id", "venue_id"])
    )
    return ranked["earlier"] > 0


def summarize(result: SimulationResult) -> SimulationSummary:
    """Headline figures of a simulation run."""
    events = pl.DataFrame(result.events)
    counts = dict(events.group_by("type").len().iter_rows())
    orders = events.filter(pl.col("type") == "order").select("user_id", "venue_id", "ts")
    impressions = events.filter(pl.col("type") == "impression")
    return SimulationSummary(
        customers=len(result.catalog.customers),
        buyers=orders["user_id"].n_unique(),
        venues=len(result.catalog.venues),
        sessions=impressions["request_id"].n_unique(),
        impressions=int(counts.get("impression", 0)),
        clicks=int(counts.get("click", 0)),
        add_to_carts=int(counts.get("add_to_cart", 0)),
        orders=orders.height,
        repeat_share=float(np.mean(repeat_flags(orders).to_numpy())) if orders.height else 0.0,
        orders_by_hour=tuple(int(c) for c in orders_by_local_hour(orders, result.catalog)),
    )
