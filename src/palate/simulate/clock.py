"""When customers open the app: session times in local time, converted to UTC exactly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from palate.domain.hours import MINUTES_PER_DAY

# Relative app opens per local hour: a lunch and a bigger dinner peak, a late tail at weekends.
WEEKDAY_HOURS = np.array(
    [0.6, 0.35, 0.2, 0.1, 0.08, 0.12, 0.4, 1.0, 1.4, 1.5, 2.2, 5.5,
     6.5, 5.0, 3.0, 2.8, 4.0, 6.5, 8.0, 7.5, 5.5, 3.8, 2.5, 1.4]
)  # fmt: skip
WEEKEND_HOURS = np.array(
    [1.2, 0.9, 0.7, 0.35, 0.15, 0.1, 0.2, 0.5, 1.2, 2.0, 2.8, 4.0,
     5.5, 5.5, 4.2, 3.5, 4.5, 6.5, 8.5, 8.0, 6.0, 4.0, 3.0, 2.0]
)  # fmt: skip
WEEKDAY_FACTOR = np.array([0.9, 0.85, 0.9, 0.95, 1.15, 1.15, 1.1])
SECOND_US = 1_000_000


@dataclass(frozen=True, slots=True)
class SessionTimes:
    """App opens sorted by UTC time; ``day`` counts local days from the start date."""

    user: np.ndarray
    ts_us: np.ndarray
    day: np.ndarray
    weekday: np.ndarray
    hour: np.ndarray
    minute_of_week: np.ndarray

    def __len__(self) -> int:
        return len(self.user)


class UtcOffsets:
    """Hourly UTC offsets of each city across the window, for exact vectorised conversion.

    Offsets change on whole UTC hours (in every zone the simulator uses), so a table with
    one offset per UTC hour converts UTC to local time exactly.
    """

    def __init__(self, timezones: tuple[str, ...], start: date, days: int) -> None:
        self.origin = epoch_seconds(start) - 86_400
        hours = (days + 3) * 24
        table = np.empty((len(timezones), hours), dtype=np.int64)
        for c, name in enumerate(timezones):
            zone = ZoneInfo(name)
            for h in range(hours):
                moment = datetime.fromtimestamp(self.origin + h * 3600, tz=UTC)
                offset = moment.astimezone(zone).utcoffset() or timedelta(0)
                table[c, h] = int(offset.total_seconds())
        self.table = table

    def offset(self, city: np.ndarray, utc_s: np.ndarray) -> np.ndarray:
        """Seconds to add to UTC (epoch seconds) to get local wall-clock time."""
        index = np.clip((utc_s - self.origin) // 3600, 0, self.table.shape[1] - 1)
        return np.asarray(self.table[city, index])

    def to_utc(self, city: np.ndarray, local_s: np.ndarray) -> np.ndarray:
        """UTC epoch seconds of local wall-clock seconds; gaps and overlaps pick a valid side."""
        guess = local_s - self.offset(city, local_s)
        return np.asarray(local_s - self.offset(city, guess))


def local_seconds(timezones: tuple[str, ...], city: np.ndarray, utc_us: np.ndarray) -> np.ndarray:
    """Local wall-clock epoch seconds of UTC microseconds in each city's timezone.

    >>> local_seconds(("Europe/Helsinki",), np.array([0]), np.array([0])).tolist()
    [7200]
    """
    hour = utc_us // (3600 * SECOND_US)
    keys, inverse = np.unique(hour, return_inverse=True)
    table = np.empty((len(timezones), len(keys)), dtype=np.int64)
    for c, name in enumerate(timezones):
        zone = ZoneInfo(name)
        for k, key in enumerate(keys.tolist()):
            offset = datetime.fromtimestamp(key * 3600, tz=UTC).astimezone(zone).utcoffset()
            table[c, k] = int((offset or timedelta(0)).total_seconds())
    return np.asarray(utc_us // SECOND_US + table[city, inverse.reshape(hour.shape)])


def epoch_seconds(day: date) -> int:
    """Seconds from 1970-01-01 to midnight of ``day`` on the same wall clock.

    >>> epoch_seconds(date(1970, 1, 2))
    86400
    """
    return (day - date(1970, 1, 1)).days * 86_400


def _sample_hours(weekend: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cdf = {
        flag: np.cumsum(profile) / profile.sum()
        for flag, profile in ((False, WEEKDAY_HOURS), (True, WEEKEND_HOURS))
    }
    draw = rng.random(len(weekend))
    hours = np.where(
        weekend,
        np.searchsorted(cdf[True], draw, side="right"),
        np.searchsorted(cdf[False], draw, side="right"),
    )
    return np.minimum(hours, 23)


def sample_sessions(
    activity: np.ndarray,
    city: np.ndarray,
    offsets: UtcOffsets,
    start: date,
    days: int,
    rng: np.random.Generator,
) -> SessionTimes:
    """Poisson app opens per customer and day, at hours drawn from the daily profiles."""
    first_weekday = start.weekday()
    weekdays = (first_weekday + np.arange(days)) % 7
    counts = rng.poisson(activity[:, None] * WEEKDAY_FACTOR[weekdays][None, :])
    flat = counts.ravel()
    user = np.repeat(np.repeat(np.arange(len(activity)), days), flat)
    day = np.repeat(np.tile(np.arange(days), len(activity)), flat)
    hour = _sample_hours(weekdays[day] >= 5, rng)
    second = hour * 3600 + rng.integers(0, 3600, len(user))
    local_s = epoch_seconds(start) + day * 86_400 + second
    utc_s = offsets.to_utc(city[user], local_s)
    sub_us = rng.integers(0, SECOND_US, len(user))
    order = np.lexsort((user, sub_us, utc_s))
    utc_s, user = utc_s[order], user[order]
    local_s = utc_s + offsets.offset(city[user], utc_s)
    local_day = local_s // 86_400 - epoch_seconds(start) // 86_400
    minute = (local_s % 86_400) // 60
    weekday = (first_weekday + local_day) % 7
    return SessionTimes(
        user=user,
        ts_us=utc_s * SECOND_US + sub_us[order],
        day=local_day,
        weekday=weekday,
        hour=minute // 60,
        minute_of_week=weekday * MINUTES_PER_DAY + minute,
    )
