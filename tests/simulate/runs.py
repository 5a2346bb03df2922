"""Simulation configs and event helpers shared by the simulator tests."""

from __future__ import annotations

import polars as pl

from palate.simulate import SimulationConfig, SimulationResult

SMALL = SimulationConfig(customers=500, days=14)
MODERATE = SimulationConfig(seed=3, customers=2_000, days=42)
NORDIC = SimulationConfig(seed=5, customers=900, days=14, n_cities=3, venues_per_city=200)


def frame(result: SimulationResult) -> pl.DataFrame:
    """The events as a polars frame."""
    return pl.DataFrame(result.events)


def of_type(result: SimulationResult, kind: str) -> pl.DataFrame:
    """Events of one type."""
    return frame(result).filter(pl.col("type") == kind)


def local_hours(result: SimulationResult, events: pl.DataFrame) -> pl.DataFrame:
    """``events`` with ``hour`` and ``weekday`` (1 = Monday) in the venue's local time."""
    zones = pl.DataFrame(
        {
            "venue_id": list(result.catalog.venues),
            "tz": [result.catalog.timezone_of(v) for v in result.catalog.venues.values()],
        }
    )
    parts = []
    for (tz,), part in events.join(zones, on="venue_id").group_by(["tz"]):
        local = pl.col("ts").dt.convert_time_zone(str(tz))
        parts.append(part.with_columns(hour=local.dt.hour(), weekday=local.dt.weekday()))
    return pl.concat(parts)
