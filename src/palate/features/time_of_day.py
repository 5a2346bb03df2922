"""Customer time-of-day profile: decayed order counts per local hour or day-part.

The column is the customer's smoothed share of orders in the request's hour (or day-part),
the same for every candidate; rankers combine it with venue signals of that time.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from palate.features.base import Columns, Finish, VenueRequest, constant
from palate.features.config import DAY_S, HOUR_S, positive, require, timezone
from palate.features.event_frame import EventFrame, local_hour_of_week
from palate.features.store import CUSTOMER, CounterSpec, ReadBatch, ReadResults, WriteBatch

NAME = "time_of_day"
DAYPARTS = (
    ("night", 0, 6),
    ("breakfast", 6, 10),
    ("lunch", 10, 14),
    ("afternoon", 14, 17),
    ("dinner", 17, 21),
    ("late", 21, 24),
)


@dataclass(frozen=True, slots=True)
class TimeOfDayConfig:
    """Options of ``[features.time_of_day]``."""

    resolution: str = "daypart"
    timezone: str = "UTC"
    half_life_hours: float = 2_160.0
    ttl_days: float = 365.0
    prior_weight: float = 1.0

    def __post_init__(self) -> None:
        ok = self.resolution in ("hour", "daypart")
        require(ok, NAME, "resolution", "'hour' or 'daypart'", self.resolution)
        timezone(NAME, self.timezone)
        positive(NAME, half_life_hours=self.half_life_hours, ttl_days=self.ttl_days)
        require(self.prior_weight >= 0, NAME, "prior_weight", ">= 0", self.prior_weight)


def slot_of_hour(resolution: str) -> np.ndarray:
    """The slot of each of the 24 hours.

    >>> slot_of_hour("daypart").tolist()[:11]
    [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2]
    """
    if resolution == "hour":
        return np.arange(24)
    return np.concatenate([np.full(end - start, k) for k, (_, start, end) in enumerate(DAYPARTS)])


class TimeOfDay:
    """Column ``tod_share``: share of the customer's orders in the current slot, smoothed
    towards the uniform share by ``prior_weight`` pseudo-orders (uniform when nothing is known).
    """

    name = NAME
    venue_columns = ("tod_share",)
    per_customer = True

    def __init__(self, config: TimeOfDayConfig | None = None) -> None:
        self.config = config or TimeOfDayConfig()
        c = self.config
        slots = (
            tuple(f"h{h:02d}" for h in range(24))
            if c.resolution == "hour"
            else tuple(name for name, _, _ in DAYPARTS)
        )
        self.spec = CounterSpec(
            "tod", CUSTOMER, slots, c.half_life_hours * HOUR_S, c.ttl_days * DAY_S
        )
        self._slots = slot_of_hour(c.resolution)
        self._zone = ZoneInfo(c.timezone)

    def write(self, events: EventFrame, batch: WriteBatch) -> None:
        """One count per order in the slot of its local time."""
        if events.orders.is_empty():
            return  # most batches hold no order; skip the fixed cost of the query
        hour = local_hour_of_week(pl.col("ts"), self.config.timezone) % 24
        slot = hour.replace_strict(list(range(24)), self._slots.tolist(), return_dtype=pl.Int64)
        batch.add_to_counter(
            self.spec,
            events.orders.lazy().select(
                pl.col("user_id").alias("entity"),
                slot.alias("slot"),
                pl.lit(1.0).alias("amount"),
                "ts",
            ),
        )

    def plan_venues(self, request: VenueRequest, reads: ReadBatch) -> Finish:
        """Read the customer's counter."""
        handle = None if request.user_id is None else reads.counters(self.spec, [request.user_id])
        slot = int(self._slots[request.moment.astimezone(self._zone).hour])
        n_slots = len(self.spec.slots)

        def finish(results: ReadResults) -> Columns:
            counts = np.zeros(n_slots) if handle is None else results[handle].values[0]
            prior = self.config.prior_weight
            total = float(counts.sum()) + prior
            share = (counts[slot] + prior / n_slots) / total if total > 0 else 1.0 / n_slots
            return {"tod_share": constant(float(share), len(request.venue_ids))}

        return finish
