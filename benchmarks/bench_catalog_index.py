"""Latency of ``VenueIndex.deliverable`` on 10,000 venues in one city, against full scans.

Run with ``pytest benchmarks/bench_catalog_index.py -m benchmark -s``. Baselines, measured in
the same run on the same queries:

* numpy full scan: haversine over every venue, then status, opening and polygon checks
  vectorised over all of them (what the index does, minus the grid);
* domain loop: ``Venue.delivers_to`` and ``WeeklyHours.is_open_at`` venue by venue.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pytest

from palate.catalog import VenueIndex
from palate.catalog.geo_grid import EDGE_TOLERANCE_M, haversine_many
from palate.catalog.opening import OpeningTable, minute_of_week
from palate.catalog.polygons import PolygonSet
from palate.domain import Catalog, City, Location, Market, Venue, VenueStatus, WeeklyHours
from palate.domain.geo import EARTH_RADIUS_M

N_VENUES = 10_000
N_QUERIES = 5_000
N_DOMAIN_QUERIES = 100
CENTRE = Location(60.1699, 24.9384)
ZONE = "Europe/Helsinki"
Floats = npt.NDArray[np.float64]


def offset(origin: Location, north_m: float, east_m: float) -> Location:
    """A point ``north_m`` and ``east_m`` from ``origin`` (flat-earth, fine at city scale)."""
    lat = origin.lat + np.degrees(north_m / EARTH_RADIUS_M)
    lon = origin.lon + np.degrees(east_m / (EARTH_RADIUS_M * np.cos(np.radians(origin.lat))))
    return Location(float(lat), float(lon))


def hours(rng: random.Random) -> WeeklyHours:
    """Typical restaurant hours: lunch-to-late, evenings past midnight, all day, weekdays."""
    choice = rng.random()
    if choice < 0.1:
        return WeeklyHours.always()
    if choice < 0.4:
        return WeeklyHours.daily(f"{rng.randrange(16, 20)}:00", f"0{rng.randrange(0, 4)}:30")
    if choice < 0.6:
        return WeeklyHours.daily("08:00", "16:00", days=(0, 1, 2, 3, 4))
    return WeeklyHours.daily(f"{rng.randrange(9, 12)}:00", f"{rng.randrange(20, 24)}:00")


def city_of_venues(seed: int) -> Catalog:
    """10,000 venues within 12 km of the centre; 10 % deliver to a polygon, 5 % paused."""
    rng = random.Random(seed)
    venues = {}
    for k in range(N_VENUES):
        at = offset(CENTRE, rng.gauss(0, 5_000), rng.gauss(0, 5_000))
        radius = rng.uniform(1_500, 6_000)
        polygon = None
        if rng.random() < 0.1:
            polygon = tuple(
                offset(at, radius * np.cos(a) * rng.uniform(0.6, 1.0), radius * np.sin(a))
                for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)
            )
        status = VenueStatus.PAUSED if rng.random() < 0.05 else VenueStatus.ONLINE
        venues[f"v{k}"] = Venue(
            f"v{k}", f"Venue {k}", "hel", at, radius, hours(rng), None, polygon, status=status
        )
    return Catalog(
        markets={"fi": Market("fi", "FI", "EUR", ZONE)},
        cities={"hel": City("hel", "Helsinki", "fi", CENTRE)},
        venues=venues,
    )


class FullScan:
    """The numpy brute force: every check over every venue, no spatial index."""

    def __init__(self, catalog: Catalog) -> None:
        venues = list(catalog.venues.values())
        self.lat = np.array([v.location.lat for v in venues])
        self.lon = np.array([v.location.lon for v in venues])
        self.radius = np.array([v.delivery_radius_m for v in venues])
        self.active = np.array([v.takes_orders for v in venues])
        self.has_polygon = np.array([bool(v.delivery_polygon) for v in venues])
        self.polygons = PolygonSet.build([v.delivery_polygon for v in venues])
        self.hours = OpeningTable.from_hours([v.opening_hours for v in venues])
        self.all = np.arange(len(venues))
        self.zone = ZoneInfo(ZONE)

    def deliverable(self, at: Location, when: datetime) -> npt.NDArray[np.intp]:
        """Positions of deliverable venues, ascending."""
        distance = haversine_many(self.lat, self.lon, at.lat, at.lon)
        inside = distance <= self.radius + EDGE_TOLERANCE_M
        polygon = np.flatnonzero(self.has_polygon)
        inside[polygon] = self.polygons.contains(polygon, at.lat, at.lon)
        minute = minute_of_week(when, self.zone)
        keep = inside & self.active & self.hours.is_open(self.all, minute)
        return np.flatnonzero(keep)


def domain_loop(catalog: Catalog, at: Location, when: datetime) -> list[str]:
    """Venue by venue through the domain methods."""
    minute = minute_of_week(when, ZoneInfo(ZONE))
    return [
        v.id
        for v in catalog.venues.values()
        if v.takes_orders and v.opening_hours.is_open_at(minute) and v.delivers_to(at)
    ]


Query = tuple[Location, datetime]


def timed_us(run: Callable[[Location, datetime], object], queries: list[Query]) -> Floats:
    """Per-query wall time in microseconds."""
    out = np.empty(len(queries))
    for k, (at, when) in enumerate(queries):
        start = time.perf_counter_ns()
        run(at, when)
        out[k] = (time.perf_counter_ns() - start) / 1_000
    return out


def summary(name: str, micros: Floats) -> str:
    p50, p99 = np.percentile(micros, [50, 99])
    return f"{name:<24} p50 {p50:9.1f} µs   p99 {p99:9.1f} µs   mean {micros.mean():9.1f} µs"


@pytest.mark.benchmark
def test_deliverable_latency_on_ten_thousand_venues() -> None:
    catalog = city_of_venues(seed=42)
    started = time.perf_counter()
    index = VenueIndex.build(catalog)
    build_s = time.perf_counter() - started
    scan = FullScan(catalog)
    rng = random.Random(7)
    monday = datetime(2024, 5, 6, tzinfo=UTC)
    queries = [
        (
            offset(CENTRE, rng.gauss(0, 4_000), rng.gauss(0, 4_000)),
            monday + timedelta(minutes=rng.randrange(7 * 24 * 60)),
        )
        for _ in range(N_QUERIES)
    ]
    sizes = [len(index.deliverable(at, when)) for at, when in queries]  # also warms up
    for at, when in queries[:500]:
        np.testing.assert_array_equal(
            index.deliverable(at, when).indices, scan.deliverable(at, when)
        )

    index_us = timed_us(index.deliverable, queries)
    scan_us = timed_us(scan.deliverable, queries)
    domain_us = timed_us(partial(domain_loop, catalog), queries[:N_DOMAIN_QUERIES])
    ratio_p50 = np.median(scan_us) / np.median(index_us)
    print()
    print(
        f"{N_VENUES} venues, built in {build_s * 1000:.0f} ms; "
        f"{np.mean(sizes):.0f} deliverable per query on average (max {max(sizes)})"
    )
    print(summary("VenueIndex.deliverable", index_us))
    print(summary("numpy full scan", scan_us))
    print(summary(f"domain loop (n={N_DOMAIN_QUERIES})", domain_us))
    print(
        f"full scan / index at p50: {ratio_p50:.1f}x; "
        f"domain loop / index at p50: {np.median(domain_us) / np.median(index_us):.0f}x"
    )
    print(mutation_figures(index, catalog))
    if np.median(index_us) >= 1_000:
        pytest.fail(f"p50 {np.median(index_us):.0f} µs misses the 1 ms target")


def mutation_figures(index: VenueIndex, catalog: Catalog) -> str:
    """Time a status flip and a one-venue upsert (a full rebuild and swap)."""
    venue_ids = list(catalog.venues)[:1_000]
    started = time.perf_counter_ns()
    for venue_id in venue_ids:
        index.set_status(venue_id, VenueStatus.BUSY)
    flip_us = (time.perf_counter_ns() - started) / 1_000 / len(venue_ids)
    started = time.perf_counter()
    index.upsert([catalog.venues[venue_ids[0]]])
    upsert_ms = (time.perf_counter() - started) * 1_000
    return f"set_status {flip_us:.1f} µs each; upsert (rebuild + swap) {upsert_ms:.0f} ms"
