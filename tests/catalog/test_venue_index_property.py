"""The index against brute force over the domain methods, on seeded random catalogs.

Queries mix random points and instants with the hard cases: points a fraction of a metre
either side of a venue's radius or on a polygon's edge region, and instants exactly on an
interval's opening or closing minute in the venue's own zone (DST weeks included).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from palate.catalog import VenueIndex
from palate.catalog.opening import OpeningTable, OpenNow
from palate.domain import Catalog, Location, Venue, haversine_m
from palate.domain.hours import MINUTES_PER_DAY, MINUTES_PER_WEEK
from tests.catalog.builders import destination, random_catalog, random_hours

N_QUERIES = 1_500
YEAR_START = datetime(2024, 1, 1, tzinfo=UTC)


def brute_force(catalog: Catalog, at: Location, when: datetime) -> dict[str, float]:
    """Deliverable venue ids with distances, straight from the domain types."""
    out = {}
    for venue in catalog.venues.values():
        local = when.astimezone(ZoneInfo(catalog.timezone_of(venue)))
        minute = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
        if venue.takes_orders and venue.delivers_to(at) and venue.opening_hours.is_open_at(minute):
            out[venue.id] = haversine_m(venue.location, at)
    return out


def near_edge(rng: random.Random, venue: Venue) -> Location:
    """A point within half a metre of the radius, or near a polygon vertex."""
    if venue.delivery_polygon:
        corner = rng.choice(venue.delivery_polygon)
        return destination(corner, rng.uniform(0, 30), rng.uniform(0, 360))
    offset = rng.choice([-0.5, -0.01, 0.01, 0.5])
    return destination(venue.location, venue.delivery_radius_m + offset, rng.uniform(0, 360))


def on_boundary(rng: random.Random, catalog: Catalog, venue: Venue) -> datetime:
    """An instant whose local minute is an interval's start or end for ``venue``."""
    if not venue.opening_hours.intervals:
        return YEAR_START + timedelta(minutes=rng.randrange(366 * MINUTES_PER_DAY))
    start, end = rng.choice(venue.opening_hours.intervals)
    minute = rng.choice([start, end, end - 1, start - 1]) % MINUTES_PER_WEEK
    # Mondays of weeks around both 2024 DST changes and a plain week.
    monday = rng.choice([date(2024, 3, 25), date(2024, 10, 21), date(2024, 6, 10)])
    zone = ZoneInfo(catalog.timezone_of(venue))
    local = datetime.combine(monday, time(), tzinfo=zone) + timedelta(minutes=minute)
    return local.astimezone(UTC)


def random_query(rng: random.Random, catalog: Catalog) -> tuple[Location, datetime]:
    venue = rng.choice(list(catalog.venues.values()))
    city = catalog.cities[venue.city_id]
    if rng.random() < 0.4:
        at = near_edge(rng, venue)
    else:
        at = destination(city.center, rng.uniform(0, 9_000), rng.uniform(0, 360))
    if rng.random() < 0.5:
        when = on_boundary(rng, catalog, venue)
    else:
        when = YEAR_START + timedelta(seconds=rng.randrange(366 * 86_400))
    return at, when


@pytest.mark.parametrize(
    ("seed", "cell_m", "city_ids"),
    [
        (1, None, ("hel", "sto", "twin")),
        (2, 400.0, ("hel", "sto", "twin")),
        (3, 40_000.0, ("hel", "sto", "twin")),
        (4, None, ("hel",)),  # a single timezone takes the shared-minute path
    ],
)
def test_index_matches_brute_force(
    seed: int, cell_m: float | None, city_ids: tuple[str, ...]
) -> None:
    catalog = random_catalog(seed, n_venues=500, city_ids=city_ids)
    index = VenueIndex.build(catalog, cell_m=cell_m)
    rng = random.Random(seed)
    non_empty = 0
    for _ in range(N_QUERIES):
        at, when = random_query(rng, catalog)
        expected = brute_force(catalog, at, when)
        result = index.deliverable(at, when)
        got = dict(zip(result.venue_ids.tolist(), result.distance_m.tolist(), strict=True))
        assert got.keys() == expected.keys(), (at, when)
        assert np.allclose([got[k] for k in expected], list(expected.values()), rtol=0, atol=1e-6)
        assert np.all(np.diff(result.indices) > 0)
        non_empty += bool(expected)
    # The comparison means little unless most queries find something.
    assert non_empty > N_QUERIES // 2


@pytest.mark.parametrize("seed", range(3))
def test_opening_table_matches_every_minute_of_the_week(seed: int) -> None:
    rng = random.Random(seed)
    hours = [random_hours(rng) for _ in range(40)]
    table = OpeningTable.from_hours(hours)
    minutes = np.arange(MINUTES_PER_WEEK)
    for venue, weekly in enumerate(hours):
        expected = [weekly.is_open_at(m) for m in range(MINUTES_PER_WEEK)]
        got = table.is_open(np.full(MINUTES_PER_WEEK, venue), minutes)
        assert got.tolist() == expected, weekly


def test_index_tracks_status_changes_like_brute_force() -> None:
    catalog = random_catalog(7, n_venues=300)
    index = VenueIndex.build(catalog)
    rng = random.Random(7)
    for _ in range(300):
        venue = rng.choice(list(catalog.venues.values()))
        status = rng.choice(list(type(venue.status)))
        catalog.venues[venue.id] = replace(venue, status=status)
        index.set_status(venue.id, status)
        at, when = random_query(rng, catalog)
        assert (
            set(index.deliverable(at, when).venue_ids.tolist())
            == brute_force(catalog, at, when).keys()
        )


@pytest.mark.parametrize("city_ids", [("hel", "sto", "twin"), ("hel",)])
def test_a_minute_asked_again_and_again_matches_brute_force(city_ids: tuple[str, ...]) -> None:
    """Servers ask about one minute many times: the index then answers from the whole
    catalog's opening mask, which must not hide a status change made meanwhile."""
    catalog = random_catalog(11, n_venues=400, city_ids=city_ids)
    index = VenueIndex.build(catalog)
    rng = random.Random(11)
    for _ in range(80):
        _, when = random_query(rng, catalog)
        for _ in range(8):  # the asked venues only, until the whole catalog's mask pays off
            at, _ = random_query(rng, catalog)
            venue = rng.choice(list(catalog.venues.values()))
            status = rng.choice(list(type(venue.status)))
            catalog.venues[venue.id] = replace(venue, status=status)
            index.set_status(venue.id, status)
            expected = brute_force(catalog, at, when)
            result = index.deliverable(at, when)
            assert set(result.venue_ids.tolist()) == expected.keys(), (at, when)


@pytest.mark.parametrize("seed", range(2))
def test_open_now_answers_like_the_table_whichever_path_it_takes(seed: int) -> None:
    rng = random.Random(seed)
    hours = [random_hours(rng) for _ in range(60)]
    table = OpeningTable.from_hours(hours)
    zone_codes = np.array([rng.randrange(3) for _ in hours])
    now = OpenNow(table, zone_codes)
    minutes = [
        np.array([rng.randrange(MINUTES_PER_WEEK) for _ in range(3)], dtype=np.int16)
        for _ in range(30)
    ]
    for _ in range(300):
        # mostly the current minute, sometimes a stray one, sometimes the minute moves on
        by_zone = rng.choice(minutes[:2]) if rng.random() < 0.9 else rng.choice(minutes)
        if rng.random() < 0.05:
            minutes.insert(0, minutes.pop())
        asked = np.array(sorted(rng.sample(range(len(hours)), rng.randrange(0, 30))), dtype=int)
        expected = table.is_open(asked, by_zone.take(zone_codes.take(asked)))
        assert now.is_open(asked, by_zone).tolist() == expected.tolist()
