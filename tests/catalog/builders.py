"""Catalog builders for the serving index and persistence tests: hand-built and seeded random."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, date, datetime

from palate.domain import (
    Banner,
    Brand,
    Catalog,
    Category,
    City,
    Customer,
    Item,
    Location,
    Market,
    Venue,
    VenueStatus,
    WeeklyHours,
)
from palate.domain.geo import EARTH_RADIUS_M
from palate.domain.hours import MINUTES_PER_DAY, MINUTES_PER_WEEK

HELSINKI = Location(60.1699, 24.9384)
STOCKHOLM = Location(59.3293, 18.0686)
SUNDAY = 6
SUNDAY_NIGHT = WeeklyHours(((SUNDAY * MINUTES_PER_DAY + 22 * 60, MINUTES_PER_WEEK + 60),))


def destination(origin: Location, distance_m: float, bearing_deg: float) -> Location:
    """The point ``distance_m`` from ``origin`` along the great circle at ``bearing_deg``."""
    delta = distance_m / EARTH_RADIUS_M
    theta = math.radians(bearing_deg)
    lat1, lon1 = math.radians(origin.lat), math.radians(origin.lon)
    lat2 = math.asin(
        math.sin(lat1) * math.cos(delta) + math.cos(lat1) * math.sin(delta) * math.cos(theta)
    )
    lon2 = lon1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(lat1),
        math.cos(delta) - math.sin(lat1) * math.sin(lat2),
    )
    return Location(math.degrees(lat2), math.degrees(lon2))


def markets_and_cities() -> tuple[dict[str, Market], dict[str, City]]:
    """Helsinki takes its market's zone; Stockholm overrides it with its own.

    "Twin" shares Helsinki's centre but runs on Stockholm time, so that one grid cell holds
    venues of two timezones.
    """
    markets = {"nordic": Market("nordic", "FI", "EUR", "Europe/Helsinki")}
    cities = {
        "hel": City("hel", "Helsinki", "nordic", HELSINKI),
        "sto": City("sto", "Stockholm", "nordic", STOCKHOLM, timezone="Europe/Stockholm"),
        "twin": City("twin", "Twin", "nordic", HELSINKI, timezone="Europe/Stockholm"),
    }
    return markets, cities


def _venue(venue_id: str, city_id: str, at: Location, **fields: object) -> Venue:
    base = Venue(venue_id, venue_id.title(), city_id, at, 1_000.0, WeeklyHours.always())
    return replace(base, **fields)


def tiny_venues() -> list[Venue]:
    """One venue per behaviour under test, spread so that each is easy to address alone."""
    square = tuple(
        destination(destination(HELSINKI, 5_000.0, 180.0), 500.0, b) for b in (45, 135, 225, 315)
    )
    return [
        _venue("edge", "hel", HELSINKI, delivery_radius_m=2_000.0, cuisines=("pizza",)),
        _venue(
            "late",
            "hel",
            destination(HELSINKI, 3_000.0, 90.0),
            opening_hours=WeeklyHours.daily("18:00", "02:00"),
            brand_id="b1",
            rating=4.5,
        ),
        _venue(
            "sunday",
            "hel",
            destination(HELSINKI, 3_000.0, 0.0),
            opening_hours=SUNDAY_NIGHT,
        ),
        # The polygon lies 5 km south, so the venue's own surroundings are not in its area.
        _venue("poly", "hel", destination(HELSINKI, 3_000.0, 270.0), delivery_polygon=square),
        _venue("paused", "hel", HELSINKI, delivery_radius_m=20_000.0, status=VenueStatus.PAUSED),
        _venue(
            "hel_morning",
            "hel",
            destination(HELSINKI, 3_000.0, 180.0),
            opening_hours=WeeklyHours.daily("10:00", "11:00"),
            onboarded_on=date(2023, 4, 1),
        ),
        _venue(
            "sto_morning",
            "sto",
            STOCKHOLM,
            opening_hours=WeeklyHours.daily("10:00", "11:00"),
            status=VenueStatus.BUSY,
        ),
    ]


def tiny_catalog() -> Catalog:
    """Two cities in two timezones and a handful of venues."""
    markets, cities = markets_and_cities()
    return Catalog(markets=markets, cities=cities, venues={v.id: v for v in tiny_venues()})


def random_hours(rng: random.Random) -> WeeklyHours:
    """Minute-level random hours: daily, some days only, raw intervals up to 48 h, or none."""
    kind = rng.random()
    if kind < 0.1:
        return WeeklyHours.always()
    if kind < 0.15:
        return WeeklyHours(())
    if kind < 0.7:
        opens, closes = rng.randrange(MINUTES_PER_DAY), rng.randrange(1, MINUTES_PER_DAY)
        days = tuple(d for d in range(7) if rng.random() < 0.8) or (SUNDAY,)
        clock = f"{opens // 60:02d}:{opens % 60:02d}", f"{closes // 60:02d}:{closes % 60:02d}"
        return WeeklyHours.daily(*clock, days=days)
    intervals = []
    for _ in range(rng.randrange(1, 6)):
        start = rng.randrange(MINUTES_PER_WEEK)
        intervals.append((start, start + rng.randrange(1, 2 * MINUTES_PER_DAY + 1)))
    return WeeklyHours(tuple(intervals))


def random_venue(rng: random.Random, venue_id: str, city: City) -> Venue:
    """A venue within ~6 km of the city centre, 20 % with a random star-shaped polygon."""
    at = destination(city.center, rng.uniform(0, 6_000), rng.uniform(0, 360))
    radius = rng.uniform(800, 5_000)
    polygon = None
    if rng.random() < 0.2:
        corners = sorted(rng.uniform(0, 360) for _ in range(rng.randrange(3, 9)))
        polygon = tuple(destination(at, rng.uniform(300, radius), b) for b in corners)
    status = rng.choices(list(VenueStatus), weights=(8, 1, 1))[0]
    return Venue(
        id=venue_id,
        name=f"Venue {venue_id}",
        city_id=city.id,
        location=at,
        delivery_radius_m=radius,
        opening_hours=random_hours(rng),
        brand_id=rng.choice([None, "b1", "b2", "b3"]),
        delivery_polygon=polygon,
        cuisines=tuple(rng.sample(["pizza", "sushi", "thai", "burger", "vegan"], rng.randrange(3))),
        tags=tuple(rng.sample(["alcohol", "new", "family"], rng.randrange(2))),
        price_level=rng.randrange(1, 5),
        rating=round(rng.uniform(0, 5), 2),
        rating_count=rng.randrange(1_000),
        prep_time_min=rng.uniform(5, 40),
        onboarded_on=rng.choice([None, date(2020, 1, 1), date(2024, 2, 29)]),
        status=status,
        categories=tuple(rng.sample(["c1", "c2", "c3"], rng.randrange(3))),
    )


def random_catalog(
    seed: int, n_venues: int, n_items: int = 0, city_ids: tuple[str, ...] = ("hel", "sto", "twin")
) -> Catalog:
    """A seeded catalog with every entity type populated, venues in ``city_ids``."""
    rng = random.Random(seed)
    markets, cities = markets_and_cities()
    city_list = [cities[c] for c in city_ids]
    venues = [random_venue(rng, f"v{k}", rng.choice(city_list)) for k in range(n_venues)]
    items = [
        Item(
            id=f"i{k}",
            venue_id=rng.choice(venues).id,
            name=f"Item {k}",
            category=rng.choice(["mains", "drinks", "sides"]),
            price=round(rng.uniform(0, 40), 2),
            tags=tuple(rng.sample(["vegetarian", "alcohol", "spicy"], rng.randrange(3))),
            available=rng.random() < 0.9,
        )
        for k in range(n_items)
    ]
    return Catalog(
        markets=markets,
        cities=cities,
        venues={v.id: v for v in venues},
        items={i.id: i for i in items},
        categories={"c1": Category("c1", "pizza", "Pizza"), "c2": Category("c2", "sushi", "Sushi")},
        brands={"b1": Brand("b1", "Chain One"), "b2": Brand("b2", "Chain Two")},
        banners={
            "ban1": Banner("ban1", "Spring", "category", "c1", ("nordic",)),
            "ban2": Banner(
                "ban2", "Week", "brand", "b1", valid_from=datetime(2024, 5, 1, tzinfo=UTC)
            ),
        },
        customers={
            f"u{k}": Customer(
                f"u{k}", rng.choice(city_list).id, home=destination(HELSINKI, k * 10.0, 45.0)
            )
            for k in range(20)
        },
    )
