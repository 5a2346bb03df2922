"""Opening hours by kind of venue, and a minute-resolution bitmap for vectorised lookups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from palate.domain.hours import MINUTES_PER_DAY, MINUTES_PER_WEEK, WeeklyHours

QUARTER = 15
WEEKEND = (4, 5)  # Friday and Saturday nights run late


def _quarters(rng: np.random.Generator, low: str, high: str) -> int:
    """A random clock time between two ``HH:MM`` bounds, on a quarter hour, in minutes."""
    lo, hi = (int(t[:2]) * 60 + int(t[3:]) for t in (low, high))
    return int(rng.integers(lo // QUARTER, hi // QUARTER + 1)) * QUARTER


def _week(days: dict[int, tuple[int, int]]) -> WeeklyHours:
    return WeeklyHours(
        tuple((d * MINUTES_PER_DAY + o, d * MINUTES_PER_DAY + c) for d, (o, c) in days.items())
    )


def _late(rng: np.random.Generator) -> dict[int, tuple[int, int]]:
    opens = _quarters(rng, "10:30", "11:30")
    closes = _quarters(rng, "22:00", "24:00")
    late = _quarters(rng, "25:00", "28:00")  # 01:00-04:00 the next morning
    return {d: (opens, late if d in WEEKEND else closes) for d in range(7)}


def _standard(rng: np.random.Generator) -> dict[int, tuple[int, int]]:
    opens, weekend_opens = _quarters(rng, "10:30", "11:00"), _quarters(rng, "11:30", "12:30")
    closes = _quarters(rng, "21:00", "22:00")
    return {d: (weekend_opens if d >= 5 else opens, closes) for d in range(7)}


def _lunch_dinner(rng: np.random.Generator) -> dict[int, tuple[int, int]]:
    opens, closes = _quarters(rng, "10:30", "11:30"), _quarters(rng, "21:30", "22:30")
    first_day = 1 if rng.random() < 0.3 else 0  # some close on Mondays
    return dict.fromkeys(range(first_day, 7), (opens, closes))


def _breakfast(rng: np.random.Generator) -> dict[int, tuple[int, int]]:
    opens, weekend_opens = _quarters(rng, "06:30", "08:00"), _quarters(rng, "08:00", "09:00")
    closes = _quarters(rng, "15:00", "17:00")
    return {d: (weekend_opens if d >= 5 else opens, closes) for d in range(7)}


def _evening(rng: np.random.Generator) -> dict[int, tuple[int, int]]:
    opens, closes = _quarters(rng, "11:00", "12:00"), _quarters(rng, "22:00", "23:00")
    return {d: (opens, 24 * 60 if d in WEEKEND else closes) for d in range(7)}


def _grocery(rng: np.random.Generator) -> dict[int, tuple[int, int]]:
    if rng.random() < 0.2:  # dark stores and 24h supermarkets
        return dict.fromkeys(range(7), (0, MINUTES_PER_DAY))
    opens, sunday_opens = _quarters(rng, "07:00", "08:00"), _quarters(rng, "10:00", "12:00")
    closes = _quarters(rng, "22:00", "23:00")
    return {d: (sunday_opens if d == 6 else opens, closes) for d in range(7)}


_KINDS = {
    "late": _late,
    "standard": _standard,
    "lunch_dinner": _lunch_dinner,
    "breakfast": _breakfast,
    "evening": _evening,
    "grocery": _grocery,
}


def make_hours(kind: str, rng: np.random.Generator) -> WeeklyHours:
    """Weekly hours of one venue of ``kind`` (see ``cuisines.HOURS_KINDS``), jittered.

    >>> hours = make_hours("late", np.random.default_rng(0))
    >>> hours.is_open(day=5, minute=30), hours.is_open(day=2, minute=5 * 60)
    (True, False)
    """
    return _week(_KINDS[kind](rng))


def open_bitmap(hours: Sequence[WeeklyHours]) -> np.ndarray:
    """``[venue, minute_of_week]`` → open, agreeing with :meth:`WeeklyHours.is_open_at`.

    >>> bitmap = open_bitmap([WeeklyHours.daily("18:00", "02:00")])
    >>> bool(bitmap[0, 23 * 60]), bool(bitmap[0, 3 * 60]), bool(bitmap[0, 60])
    (True, False, True)
    """
    bitmap = np.zeros((len(hours), MINUTES_PER_WEEK), dtype=bool)
    for row, week in enumerate(hours):
        for start, end in week.intervals:
            bitmap[row, start : min(end, MINUTES_PER_WEEK)] = True
            if end > MINUTES_PER_WEEK:
                bitmap[row, : end - MINUTES_PER_WEEK] = True
    return bitmap
