"""Opening hours in local time, including hours past midnight and the week's wrap."""

from __future__ import annotations

import pytest

from palate.domain.hours import MINUTES_PER_DAY, WeeklyHours, parse_clock

FRI, SAT, SUN, MON = 4, 5, 6, 0


def test_hours_past_midnight_belong_to_the_previous_evening() -> None:
    hours = WeeklyHours.daily("18:00", "02:00", days=(FRI,))
    assert hours.is_open(FRI, parse_clock("18:00"))
    assert hours.is_open(SAT, parse_clock("01:59"))
    assert not hours.is_open(SAT, parse_clock("02:00"))
    assert not hours.is_open(FRI, parse_clock("17:59"))
    assert not hours.is_open(FRI, parse_clock("01:00"))  # Thursday night was not opened


def test_sunday_night_wraps_into_monday() -> None:
    hours = WeeklyHours.daily("22:00", "01:00", days=(SUN,))
    assert hours.is_open(SUN, parse_clock("23:30"))
    assert hours.is_open(MON, parse_clock("00:30"))
    assert not hours.is_open(MON, parse_clock("01:00"))


def test_closing_time_is_exclusive_and_opening_inclusive() -> None:
    hours = WeeklyHours.daily("11:30", "14:00")
    for day in range(7):
        assert not hours.is_open(day, parse_clock("11:29"))
        assert hours.is_open(day, parse_clock("11:30"))
        assert not hours.is_open(day, parse_clock("14:00"))


def test_always_open_is_open_every_minute_checked() -> None:
    hours = WeeklyHours.always()
    assert all(hours.is_open_at(m) for m in range(0, 7 * MINUTES_PER_DAY, 37))


def test_spec_round_trip() -> None:
    hours = WeeklyHours.daily("18:00", "02:00", days=(FRI, SAT))
    assert WeeklyHours.from_spec(hours.to_spec()) == hours


@pytest.mark.parametrize("bad", ["25:00", "12:60", "noon"])
def test_bad_clock_times_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - message varies with the input
        parse_clock(bad)


def test_intervals_must_be_nonempty() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        WeeklyHours(((600, 600),))
