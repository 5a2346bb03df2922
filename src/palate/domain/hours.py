"""Weekly opening hours in a venue's local time, including hours past midnight."""

from __future__ import annotations

from dataclasses import dataclass

MINUTES_PER_DAY = 1_440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_clock(text: str) -> int:
    """Minutes after midnight for ``HH:MM``; ``24:00`` is allowed as end of day.

    >>> parse_clock("11:30"), parse_clock("24:00")
    (690, 1440)
    """
    hours, _, minutes = text.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= MINUTES_PER_DAY or not 0 <= int(minutes or 0) < 60:
        raise ValueError(f"not a clock time: {text!r}")
    return value


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Open intervals as minutes since Monday 00:00 local time.

    An interval may run past midnight (Friday 18:00 → Saturday 02:00) and past the end of the
    week (Sunday 22:00 → Monday 01:00); both wrap around the week.

    >>> late = WeeklyHours.daily("18:00", "02:00")
    >>> late.is_open(day=4, minute=23 * 60), late.is_open(day=5, minute=90)
    (True, True)
    >>> late.is_open(day=5, minute=3 * 60)
    False
    """

    intervals: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        for start, end in self.intervals:
            if not 0 <= start < MINUTES_PER_WEEK:
                raise ValueError(f"interval start {start} outside the week")
            if not start < end <= start + MINUTES_PER_DAY * 2:
                raise ValueError(f"interval ({start}, {end}) must be non-empty and under 48h")

    @classmethod
    def always(cls) -> WeeklyHours:
        """Open around the clock (dark stores, some grocers)."""
        return cls(tuple((d * MINUTES_PER_DAY, (d + 1) * MINUTES_PER_DAY) for d in range(7)))

    @classmethod
    def daily(cls, opens: str, closes: str, days: tuple[int, ...] = tuple(range(7))) -> WeeklyHours:
        """The same hours on ``days`` (0 = Monday); ``closes <= opens`` runs past midnight."""
        start, end = parse_clock(opens), parse_clock(closes)
        if end <= start:
            end += MINUTES_PER_DAY
        return cls(tuple((d * MINUTES_PER_DAY + start, d * MINUTES_PER_DAY + end) for d in days))

    def is_open_at(self, minute_of_week: int) -> bool:
        """Whether the venue is open at this minute of its local week."""
        m = minute_of_week % MINUTES_PER_WEEK
        for start, end in self.intervals:
            if start <= m < end or start <= m + MINUTES_PER_WEEK < end:
                return True
        return False

    def is_open(self, day: int, minute: int) -> bool:
        """Whether open on local weekday ``day`` (0 = Monday) at ``minute`` after midnight."""
        return self.is_open_at(day * MINUTES_PER_DAY + minute)

    def to_spec(self) -> list[list[int]]:
        """A JSON-friendly form; :meth:`from_spec` reverses it."""
        return [[s, e] for s, e in self.intervals]

    @classmethod
    def from_spec(cls, spec: list[list[int]] | list[tuple[int, int]]) -> WeeklyHours:
        """Build from ``[[start, end], ...]`` minutes since Monday 00:00."""
        return cls(tuple((int(s), int(e)) for s, e in spec))
