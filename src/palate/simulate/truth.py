"""The ground truth behind the events: latent parameters and the utility oracle.

The events never carry utilities; evaluation code asks :meth:`GroundTruth.utility` how much a
customer would really like a venue at a moment, which is what an ideal ranker would know.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from palate.simulate.clock import epoch_seconds, local_seconds
from palate.simulate.spatial import haversine_m

COEFFICIENTS = {
    "affinity": 0.8,  # weight of log(cuisine affinity / the cuisine's share of venues)
    "prep_per_min": 0.02,
    "new_venue_days": 21.0,  # venues this young draw explorers
    "lunch_from": 11.0,  # weekday hours when workers order to the office
    "lunch_to": 14.0,
}
_FILES = ("truth.npz", "truth.json")
Ids = np.ndarray | Sequence[str] | Sequence[int]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, eq=False)
class GroundTruth:
    """Latent customer and venue parameters, indexed like the ids (``u7`` → row 7).

    The static utility of venue ``v`` for customer ``u`` at local hour ``h`` on day ``d`` from a
    point ``dist`` km away is ``0.8·log(affinity[u, c] / cuisine_share[c]) + daypart[c, h] +
    quality[v] − price_sensitivity[u]·(price_level[v] − 2) − distance_aversion[u]·dist −
    0.02·prep_min[v] + exploration[u]·[v is new on d]`` with ``c = cuisine[v]``; a taste for
    a cuisine is relative to how common it is, since common cuisines already have more venues
    to choose from. Sessions add a habit term
    ``habit[u]·log(1 + past orders of u at v)`` and Gumbel noise.
    """

    start_date: date
    timezones: tuple[str, ...]
    cuisines: tuple[str, ...]
    city: np.ndarray
    home_lat: np.ndarray
    home_lon: np.ndarray
    work_lat: np.ndarray
    work_lon: np.ndarray
    affinity: np.ndarray
    vegetarian: np.ndarray
    price_sensitivity: np.ndarray
    distance_aversion: np.ndarray
    habit: np.ndarray
    exploration: np.ndarray
    activity: np.ndarray
    intent: np.ndarray
    venue_city: np.ndarray
    venue_lat: np.ndarray
    venue_lon: np.ndarray
    venue_cuisine: np.ndarray
    venue_price_level: np.ndarray
    venue_quality: np.ndarray
    venue_prep_min: np.ndarray
    venue_onboard_day: np.ndarray
    daypart: np.ndarray
    cuisine_share: np.ndarray
    log_affinity: np.ndarray = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        log_aff = np.log(np.maximum(self.affinity / self.cuisine_share, 1e-3))
        object.__setattr__(self, "log_affinity", log_aff)

    @property
    def n_customers(self) -> int:
        """How many customers."""
        return len(self.city)

    def static_utility(
        self,
        users: np.ndarray,
        venues: np.ndarray,
        hour: np.ndarray,
        day: np.ndarray,
        dist_km: np.ndarray,
    ) -> np.ndarray:
        """The utility formula on broadcastable index and context arrays (no habit, no noise)."""
        cuisine = self.venue_cuisine[venues]
        new = (day >= self.venue_onboard_day[venues]) & (
            day < self.venue_onboard_day[venues] + COEFFICIENTS["new_venue_days"]
        )
        return np.asarray(
            COEFFICIENTS["affinity"] * self.log_affinity[users, cuisine]
            + self.daypart[cuisine, hour]
            + self.venue_quality[venues]
            - self.price_sensitivity[users] * (self.venue_price_level[venues] - 2.0)
            - self.distance_aversion[users] * dist_km
            - COEFFICIENTS["prep_per_min"] * self.venue_prep_min[venues]
            + self.exploration[users] * new
        )

    def location(
        self, users: np.ndarray, weekday: np.ndarray, hour: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Where a customer usually orders to: the office at weekday lunch, else home."""
        at_work = (
            (weekday < 5)
            & (hour >= COEFFICIENTS["lunch_from"])
            & (hour < COEFFICIENTS["lunch_to"])
            & ~np.isnan(self.work_lat[users])
        )
        lat = np.where(at_work, self.work_lat[users], self.home_lat[users])
        lon = np.where(at_work, self.work_lon[users], self.home_lon[users])
        return lat, lon

    def utility(
        self,
        user_ids: Ids,
        venue_ids: Ids,
        when: datetime | np.ndarray,
        lat: np.ndarray | None = None,
        lon: np.ndarray | None = None,
    ) -> np.ndarray:
        """The oracle: static utility of each (user, venue) pair at ``when``, broadcasting.

        Ids may be strings (``"u3"``, ``"v12"``) or integer rows; ``when`` is an aware
        datetime or an array of UTC ``datetime64`` (one per pair). Without ``lat``/``lon`` the
        customer is where they usually are at that local time (office or home).
        """
        users, venues, utc_us = np.broadcast_arrays(
            _rows(user_ids), _rows(venue_ids), _micros(when)
        )
        hour, _, day = self._local_clock(self.venue_city[venues], utc_us)
        if lat is None or lon is None:
            u_hour, u_weekday, _ = self._local_clock(self.city[users], utc_us)
            lat, lon = self.location(users, u_weekday, u_hour)
        dist_km = haversine_m(lat, lon, self.venue_lat[venues], self.venue_lon[venues]) / 1000
        return self.static_utility(users, venues, hour, day, dist_km)

    def _local_clock(
        self, city: np.ndarray, utc_us: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local hour, weekday (0 = Monday) and day number from the start date."""
        local = local_seconds(self.timezones, city, utc_us)
        epoch_day = local // 86_400
        hour = (local % 86_400) // 3600
        weekday = (epoch_day + 3) % 7  # 1970-01-01 was a Thursday
        return hour, weekday, epoch_day - epoch_seconds(self.start_date) // 86_400

    def save(self, path: Path) -> None:
        """Write ``truth.npz`` and ``truth.json`` into the directory ``path``."""
        path.mkdir(parents=True, exist_ok=True)
        arrays, meta = self._split_fields()
        with (path / _FILES[0]).open("wb") as handle:
            np.savez_compressed(handle, allow_pickle=False, **arrays)
        meta["coefficients"] = COEFFICIENTS
        (path / _FILES[1]).write_text(json.dumps(meta, indent=2, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> GroundTruth:
        """Read what :meth:`save` wrote."""
        meta = json.loads((path / _FILES[1]).read_text())
        with np.load(path / _FILES[0]) as npz:
            arrays = {key: npz[key] for key in npz.files}
        return cls(
            start_date=date.fromisoformat(meta["start_date"]),
            timezones=tuple(meta["timezones"]),
            cuisines=tuple(meta["cuisines"]),
            **arrays,
        )

    def _split_fields(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if not f.init:
                continue
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                arrays[f.name] = value
            else:
                meta[f.name] = value.isoformat() if isinstance(value, date) else list(value)
        return arrays, meta


def _micros(when: datetime | np.ndarray) -> np.ndarray:
    """UTC microseconds since the epoch of an aware datetime or a ``datetime64`` array."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("when must be timezone-aware")
        return np.array((when - _EPOCH) // timedelta(microseconds=1), dtype=np.int64)
    return np.asarray(when).astype("datetime64[us]").astype(np.int64)


def _rows(ids: Ids) -> np.ndarray:
    """Integer rows from ids like ``"u3"``, or the integers themselves.

    >>> _rows(["u3", "u10"]).tolist(), _rows(np.array([4])).tolist()
    ([3, 10], [4])
    """
    array = np.asarray(ids)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    return np.char.lstrip(array.astype(str), "uvib").astype(np.int64)
