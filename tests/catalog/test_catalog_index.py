"""The serving venue index on a hand-built catalog: delivery area, local hours, status."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from palate.catalog import STATUS_ORDER, VenueIndex
from palate.catalog.columns import MISSING_DAY
from palate.domain import Catalog, Location, VenueStatus, WeeklyHours, haversine_m
from tests.catalog.builders import HELSINKI, STOCKHOLM, destination

HEL = ZoneInfo("Europe/Helsinki")
# 2024-05-06 is a Monday; Helsinki is UTC+3 and Stockholm UTC+2 in May.
MONDAY_NOON = datetime(2024, 5, 6, 12, 0, tzinfo=HEL)


def found(index: VenueIndex, at: Location, when: datetime) -> set[str]:
    return set(index.deliverable(at, when).venue_ids.tolist())


def at_hel(day: int, hour: int, minute: int = 0) -> datetime:
    """Local Helsinki time on May ``day``, 2024."""
    return datetime(2024, 5, day, hour, minute, tzinfo=HEL)


@pytest.mark.parametrize("bearing", [0.0, 45.0, 90.0, 180.0, 270.0, 333.0])
def test_radius_edge_one_metre_in_and_out(index: VenueIndex, bearing: float) -> None:
    inside = destination(HELSINKI, 2_000.0 - 1.0, bearing)
    outside = destination(HELSINKI, 2_000.0 + 1.0, bearing)
    assert haversine_m(HELSINKI, inside) == pytest.approx(1_999.0, abs=1e-6)
    assert "edge" in found(index, inside, MONDAY_NOON)
    assert "edge" not in found(index, outside, MONDAY_NOON)


def test_radius_edge_is_inclusive(catalog: Catalog) -> None:
    point = destination(HELSINKI, 1_500.0, 123.0)
    exact = haversine_m(HELSINKI, point)
    catalog.venues["edge"] = replace(catalog.venues["edge"], delivery_radius_m=exact)
    assert catalog.venues["edge"].delivers_to(point)
    assert "edge" in found(VenueIndex.build(catalog), point, MONDAY_NOON)


def test_polygon_replaces_radius(index: VenueIndex, catalog: Catalog) -> None:
    venue = catalog.venues["poly"]
    polygon_centre = destination(HELSINKI, 5_000.0, 180.0)
    beside_venue = destination(venue.location, 100.0, 0.0)
    assert venue.delivers_to(polygon_centre)
    assert haversine_m(venue.location, polygon_centre) > venue.delivery_radius_m
    assert "poly" in found(index, polygon_centre, MONDAY_NOON)
    assert "poly" not in found(index, beside_venue, MONDAY_NOON)
    assert "poly" not in found(index, destination(polygon_centre, 800.0, 0.0), MONDAY_NOON)


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        (at_hel(6, 17, 59), False),
        (at_hel(6, 18, 0), True),
        (at_hel(7, 1, 30), True),  # Monday's evening, past midnight
        (at_hel(7, 1, 59), True),
        (at_hel(7, 2, 0), False),
        (at_hel(7, 12, 0), False),
    ],
)
def test_hours_past_midnight(index: VenueIndex, when: datetime, is_open: bool) -> None:
    late = index.venue("late").location
    assert ("late" in found(index, late, when)) is is_open


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        (at_hel(5, 21, 59), False),  # Sunday
        (at_hel(5, 22, 0), True),
        (at_hel(5, 23, 59), True),
        (at_hel(6, 0, 30), True),  # Monday: wrapped into the start of the week
        (at_hel(6, 0, 59), True),
        (at_hel(6, 1, 0), False),
        (at_hel(11, 23, 0), False),  # Saturday
    ],
)
def test_sunday_night_wraps_to_monday(index: VenueIndex, when: datetime, is_open: bool) -> None:
    sunday = index.venue("sunday").location
    assert ("sunday" in found(index, sunday, when)) is is_open


def test_each_venue_uses_its_own_timezone(index: VenueIndex) -> None:
    # Both open 10:00-11:00 local; Helsinki runs an hour ahead of Stockholm.
    helsinki_venue = index.venue("hel_morning").location
    both_at = [datetime(2024, 5, 6, hour, 30, tzinfo=UTC) for hour in (6, 7, 8, 9)]
    in_helsinki = ["hel_morning" in found(index, helsinki_venue, t) for t in both_at]
    in_stockholm = ["sto_morning" in found(index, STOCKHOLM, t) for t in both_at]
    assert in_helsinki == [False, True, False, False]
    assert in_stockholm == [False, False, True, False]


def test_paused_venue_is_never_returned(index: VenueIndex) -> None:
    week = [datetime(2024, 5, 6, tzinfo=UTC) + timedelta(hours=h) for h in range(0, 168, 5)]
    assert all("paused" not in found(index, HELSINKI, t) for t in week)
    assert all("edge" in found(index, HELSINKI, t) for t in week)


def test_set_status_is_visible_to_the_next_query(index: VenueIndex) -> None:
    index.set_status("edge", VenueStatus.PAUSED)
    assert "edge" not in found(index, HELSINKI, MONDAY_NOON)
    assert index.venue("edge").status is VenueStatus.PAUSED
    index.set_status("paused", VenueStatus.BUSY)
    index.set_status("edge", VenueStatus.ONLINE)
    assert {"edge", "paused"} <= found(index, HELSINKI, MONDAY_NOON)
    assert STATUS_ORDER[index.status[index.position("paused")]] is VenueStatus.BUSY
    with pytest.raises(KeyError):
        index.set_status("nowhere", VenueStatus.PAUSED)


def test_nowhere_near_any_venue_is_empty(index: VenueIndex) -> None:
    for point in (Location(0.0, 0.0), Location(-33.9, 151.2), Location(60.1699, 26.5)):
        result = index.deliverable(point, MONDAY_NOON)
        assert len(result) == 0
        assert result.indices.dtype == np.int32
        assert result.distance_m.shape == (0,)


def test_naive_time_is_rejected(index: VenueIndex) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        index.deliverable(HELSINKI, datetime(2024, 5, 6, 12, 0))  # noqa: DTZ001


def test_columns_follow_venue_positions(index: VenueIndex, catalog: Catalog) -> None:
    for venue in catalog.venues.values():
        row = index.position(venue.id)
        assert index.venue_ids[row] == venue.id
        assert index.rating[row] == venue.rating
        assert index.delivery_radius_m[row] == venue.delivery_radius_m
        assert bool(index.cuisines.mask("pizza")[row]) is ("pizza" in venue.cuisines)
        assert bool(index.brand.mask("b1")[row]) is (venue.brand_id == "b1")
    days = index.onboarded_day
    assert days[index.position("hel_morning")] == (date(2023, 4, 1) - date(1970, 1, 1)).days
    assert days[index.position("edge")] == MISSING_DAY
    assert index.columns.timezone.vocabulary == ("Europe/Helsinki", "Europe/Stockholm")


def test_upsert_adds_and_replaces_keeping_positions(index: VenueIndex, catalog: Catalog) -> None:
    before = {venue_id: index.position(venue_id) for venue_id in catalog.venues}
    index.set_status("late", VenueStatus.PAUSED)
    newcomer = replace(catalog.venues["edge"], id="newcomer", delivery_radius_m=300.0)
    closed_edge = replace(catalog.venues["edge"], opening_hours=WeeklyHours(()))
    index.upsert([newcomer, closed_edge])
    assert {venue_id: index.position(venue_id) for venue_id in catalog.venues} == before
    assert index.position("newcomer") == len(catalog.venues)
    assert found(index, HELSINKI, MONDAY_NOON) == {"newcomer"}
    assert index.venue("late").status is VenueStatus.PAUSED  # survives the rebuild
    with pytest.raises(ValueError, match="unknown city"):
        index.upsert([replace(newcomer, id="lost", city_id="atlantis")])
    assert "lost" not in index


def test_upsert_registers_new_cities(index: VenueIndex, catalog: Catalog) -> None:
    # Tokyo is UTC+9: at 03:00 UTC it is noon there and 06:00 in Helsinki.
    tokyo = replace(
        catalog.venues["hel_morning"],
        id="tokyo",
        city_id="tyo",
        opening_hours=WeeklyHours.daily("11:30", "12:30"),
    )
    index.upsert([tokyo], city_timezones={"tyo": "Asia/Tokyo"})
    when = datetime(2024, 5, 6, 3, 0, tzinfo=UTC)
    assert "tokyo" in found(index, tokyo.location, when)
    assert "tokyo" not in found(index, tokyo.location, when + timedelta(hours=1))


def test_readers_see_whole_snapshots_during_upserts(index: VenueIndex, catalog: Catalog) -> None:
    closed = replace(catalog.venues["edge"], opening_hours=WeeklyHours(()))
    allowed = [{"edge"}, set()]
    seen: list[set[str]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(found(index, HELSINKI, MONDAY_NOON))

    reader = threading.Thread(target=read)
    reader.start()
    for round_ in range(30):
        index.upsert([closed if round_ % 2 == 0 else catalog.venues["edge"]])
    stop.set()
    reader.join()
    assert seen
    assert all(result in allowed for result in seen)
