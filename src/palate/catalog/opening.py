"""Vectorised, minute-exact opening-hours checks in each venue's own timezone.

Each venue's :class:`~palate.domain.hours.WeeklyHours` is unwrapped, cut at every midnight
and merged into per-(venue, weekday) rows of ``[start, end)`` minutes, padded to a fixed
width, so "is venue ``i`` open at local minute ``m``" is one gather per slot and a compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from palate.domain.hours import MINUTES_PER_DAY, MINUTES_PER_WEEK, WeeklyHours


def minute_of_week(when: datetime, zone: tzinfo) -> int:
    """Minutes since Monday 00:00 of ``when`` in ``zone``; seconds are dropped.

    >>> from datetime import UTC
    >>> minute_of_week(datetime(2024, 1, 1, 10, 30, 59, tzinfo=UTC), ZoneInfo("Europe/Helsinki"))
    750
    """
    if when.tzinfo is None:
        raise ValueError("when must be timezone-aware")
    local = when.astimezone(zone)
    return local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute


@dataclass(frozen=True, slots=True)
class ZoneClock:
    """The local minute of the week in each of a fixed list of timezones."""

    zones: tuple[ZoneInfo, ...]

    @classmethod
    def of(cls, names: Sequence[str]) -> ZoneClock:
        """Resolve IANA names once so a query does no zone lookups."""
        return cls(tuple(ZoneInfo(name) for name in names))

    def minutes(self, when: datetime) -> npt.NDArray[np.int16]:
        """``minute_of_week(when, zone)`` for every zone, in order."""
        return np.array([minute_of_week(when, zone) for zone in self.zones], dtype=np.int16)


IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class DayPieces:
    """Open intervals cut at midnight: ``row = 7 * venue + weekday``, minutes ``[lo, hi)``."""

    row: IntArray
    lo: IntArray
    hi: IntArray

    @classmethod
    def cut(cls, venue: IntArray, start: IntArray, end: IntArray) -> DayPieces:
        """Unwrap week intervals past Sunday midnight, then cut each at every midnight.

        >>> p = DayPieces.cut(np.array([0]), np.array([6 * 1440 + 22 * 60]), np.array([10140]))
        >>> p.row.tolist(), p.lo.tolist(), p.hi.tolist()
        ([6, 0], [1320, 0], [1440, 60])
        """
        # WeeklyHours bounds intervals to 48 h from a start inside the week: one split suffices.
        wraps = end > MINUTES_PER_WEEK
        venue = np.concatenate((venue, venue[wraps]))
        start = np.concatenate((start, np.zeros(int(wraps.sum()), dtype=np.int64)))
        end = np.concatenate((np.minimum(end, MINUTES_PER_WEEK), end[wraps] - MINUTES_PER_WEEK))
        first_day, last_day = start // MINUTES_PER_DAY, (end - 1) // MINUTES_PER_DAY
        counts = last_day - first_day + 1
        day = np.repeat(first_day, counts) + _rank_in_runs(counts)
        midnight = day * MINUTES_PER_DAY
        lo = np.maximum(np.repeat(start, counts), midnight) - midnight
        hi = np.minimum(np.repeat(end, counts), midnight + MINUTES_PER_DAY) - midnight
        return cls(np.repeat(venue, counts) * 7 + day, lo, hi)

    def merged(self) -> DayPieces:
        """Sorted by row then start, overlapping or touching pieces of a row joined."""
        order = np.lexsort((self.lo, self.row))
        row, lo, hi = self.row[order], self.lo[order], self.hi[order]
        # Offsetting each row by more than a day makes one running maximum serve all rows.
        base = row * (2 * MINUTES_PER_DAY)
        reach = np.maximum.accumulate(base + hi)
        opens = np.ones(len(row), dtype=np.bool_)
        opens[1:] = base[1:] + lo[1:] > reach[:-1]
        first = np.flatnonzero(opens)
        last = np.append(first[1:], len(row)) - 1
        return DayPieces(row[first], lo[first], reach[last] - base[first])


def _rank_in_runs(counts: IntArray) -> IntArray:
    """``0, 1, …, counts[k] - 1`` for each ``k``, concatenated.

    >>> _rank_in_runs(np.array([2, 0, 3])).tolist()
    [0, 1, 0, 1, 2]
    """
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


@dataclass(frozen=True, slots=True)
class OpeningTable:
    """Per venue and weekday, that day's open intervals; row ``7 * venue + weekday``.

    Cutting at midnight keeps rows narrow (a day rarely has more than two intervals), so a
    check gathers one short row per venue. Padding is the empty interval ``(0, 0)``.

    >>> table = OpeningTable.from_hours([WeeklyHours.daily("18:00", "02:00"), WeeklyHours(())])
    >>> table.is_open(np.array([0, 0, 1]), np.array([90, 120, 90])).tolist()
    [True, False, False]
    >>> table.is_open(np.array([0, 1]), 18 * 60).tolist()
    [True, False]
    """

    starts: npt.NDArray[np.int16]
    ends: npt.NDArray[np.int16]

    @classmethod
    def from_hours(cls, hours: Sequence[WeeklyHours]) -> OpeningTable:
        """Cut every venue's hours by day, merge overlaps and pad to the busiest day."""
        flat = np.array(
            [(v, s, e) for v, h in enumerate(hours) for s, e in h.intervals], dtype=np.int64
        ).reshape(-1, 3)
        pieces = DayPieces.cut(flat[:, 0], flat[:, 1], flat[:, 2]).merged()
        row_starts = np.ones(len(pieces.row), dtype=np.bool_)
        row_starts[1:] = pieces.row[1:] != pieces.row[:-1]
        slot = _rank_in_runs(np.diff(np.append(np.flatnonzero(row_starts), len(pieces.row))))
        width = int(slot.max()) + 1 if len(slot) else 1
        starts = np.zeros((width, 7 * len(hours)), dtype=np.int16)
        ends = np.zeros((width, 7 * len(hours)), dtype=np.int16)
        starts[slot, pieces.row] = pieces.lo
        ends[slot, pieces.row] = pieces.hi
        return cls(starts, ends)

    def is_open(
        self, indices: npt.NDArray[np.integer], minutes: int | npt.NDArray[np.integer]
    ) -> npt.NDArray[np.bool_]:
        """Whether venue ``indices[k]`` is open at local minute of week ``minutes[k]``.

        ``minutes`` may be one minute shared by all (every venue in one timezone).
        """
        if isinstance(minutes, int):
            day, minute = divmod(minutes, MINUTES_PER_DAY)
            rows = indices * 7 + day
            at: int | npt.NDArray[np.integer] = minute
        else:
            rows = indices * 7 + minutes // MINUTES_PER_DAY
            at = minutes % MINUTES_PER_DAY
        is_open = np.zeros(len(indices), dtype=np.bool_)
        for starts, ends in zip(self.starts, self.ends, strict=True):
            is_open |= (starts.take(rows) <= at) & (at < ends.take(rows))
        return is_open


class OpenNow:
    """Opening checks that answer for the whole catalog once per local minute, then gather.

    A server asks about the same minute request after request: once the venues checked for
    a minute add up to the catalog, every venue is checked once and each later query for
    that minute is one gather. Until then only the asked venues are checked, so a minute
    asked rarely (a replay stepping through time) costs at most twice what it did, and a
    stray other minute (a scheduled order) leaves the current minute's answer in place.
    Racing threads at worst both compute the same answer.

    >>> now = OpenNow(OpeningTable.from_hours([WeeklyHours.daily("18:00", "02:00")] * 2),
    ...               np.array([0, 1]))
    >>> [now.is_open(np.array([1]), np.array([90, 150], np.int16)).tolist() for _ in "abc"]
    [[False], [False], [False]]
    >>> now.is_open(np.array([0, 1]), np.array([90, 150], np.int16)).tolist()
    [True, False]
    """

    __slots__ = ("_answer", "_asked", "_table", "_zone_codes")

    def __init__(self, table: OpeningTable, zone_codes: npt.NDArray[np.integer]) -> None:
        self._table = table
        self._zone_codes = zone_codes  # each venue's index into the clock's zones
        # Tuples swapped whole, so a reader never sees half of one.
        self._asked: tuple[bytes, int] = (b"", 0)  # the last minute asked, venues checked
        self._answer: tuple[bytes, BoolArray] | None = None  # a minute and every venue's answer

    def is_open(
        self, indices: npt.NDArray[np.integer], by_zone: npt.NDArray[np.int16]
    ) -> BoolArray:
        """Whether venue ``indices[k]`` is open, ``by_zone`` being each zone's minute of week."""
        key = by_zone.tobytes()
        answer = self._answer
        if answer is not None and answer[0] == key:
            return answer[1].take(indices)
        asked, checked = self._asked
        checked = len(indices) + (checked if asked == key else 0)
        if checked < len(self._zone_codes):
            self._asked = (key, checked)
            return self._table.is_open(indices, self._minutes(by_zone, indices))
        everyone = self._table.is_open(
            np.arange(len(self._zone_codes)), self._minutes(by_zone, None)
        )
        self._answer = (key, everyone)
        return everyone.take(indices)

    def _minutes(
        self, by_zone: npt.NDArray[np.int16], indices: npt.NDArray[np.integer] | None
    ) -> int | npt.NDArray[np.int16]:
        """Each venue's local minute of the week; one shared int when there is one zone."""
        if len(by_zone) == 1:
            return int(by_zone[0])
        codes = self._zone_codes if indices is None else self._zone_codes.take(indices)
        return by_zone.take(codes)
