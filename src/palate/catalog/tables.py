"""Arrow tables for the large catalog entities: venues, items and customers.

Each ``*_table`` function and its ``*_from_table`` inverse round-trip the dataclasses
exactly: ``None`` and empty stay distinct (a null polygon is not an empty one), dates stay
dates, floats stay float64.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from palate.domain.catalog import Customer, Item
from palate.domain.geo import Location
from palate.domain.hours import WeeklyHours
from palate.domain.venue import Venue, VenueStatus

INTERVAL = pa.struct([("start", pa.int32()), ("end", pa.int32())])
POINT = pa.struct([("lat", pa.float64()), ("lon", pa.float64())])
STRINGS = pa.list_(pa.string())

VENUE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("name", pa.string()),
        ("city_id", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("delivery_radius_m", pa.float64()),
        ("opening_hours", pa.list_(INTERVAL)),
        ("brand_id", pa.string()),
        ("delivery_polygon", pa.list_(POINT)),
        ("cuisines", STRINGS),
        ("tags", STRINGS),
        ("price_level", pa.int8()),
        ("rating", pa.float64()),
        ("rating_count", pa.int64()),
        ("prep_time_min", pa.float64()),
        ("onboarded_on", pa.date32()),
        ("status", pa.string()),
        ("categories", STRINGS),
    ]
)

ITEM_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("venue_id", pa.string()),
        ("name", pa.string()),
        ("category", pa.string()),
        ("price", pa.float64()),
        ("tags", STRINGS),
        ("available", pa.bool_()),
    ]
)

CUSTOMER_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("city_id", pa.string()),
        ("home_lat", pa.float64()),
        ("home_lon", pa.float64()),
        ("work_lat", pa.float64()),
        ("work_lon", pa.float64()),
    ]
)


def venue_table(venues: Iterable[Venue]) -> pa.Table:
    """One row per venue, in the given order."""
    rows = list(venues)
    columns: dict[str, list[Any]] = {
        "id": [v.id for v in rows],
        "name": [v.name for v in rows],
        "city_id": [v.city_id for v in rows],
        "lat": [v.location.lat for v in rows],
        "lon": [v.location.lon for v in rows],
        "delivery_radius_m": [v.delivery_radius_m for v in rows],
        "opening_hours": [
            [{"start": s, "end": e} for s, e in v.opening_hours.intervals] for v in rows
        ],
        "brand_id": [v.brand_id for v in rows],
        "delivery_polygon": [_points(v.delivery_polygon) for v in rows],
        "cuisines": [list(v.cuisines) for v in rows],
        "tags": [list(v.tags) for v in rows],
        "price_level": [v.price_level for v in rows],
        "rating": [v.rating for v in rows],
        "rating_count": [v.rating_count for v in rows],
        "prep_time_min": [v.prep_time_min for v in rows],
        "onboarded_on": [v.onboarded_on for v in rows],
        "status": [v.status.value for v in rows],
        "categories": [list(v.categories) for v in rows],
    }
    return pa.Table.from_pydict(columns, schema=VENUE_SCHEMA)


def venues_from_table(table: pa.Table) -> list[Venue]:
    """The venues of a :func:`venue_table`, in row order."""
    c = _columns(table)
    return [
        Venue(
            id=c["id"][i],
            name=c["name"][i],
            city_id=c["city_id"][i],
            location=Location(c["lat"][i], c["lon"][i]),
            delivery_radius_m=c["delivery_radius_m"][i],
            opening_hours=WeeklyHours.from_spec(
                [[h["start"], h["end"]] for h in c["opening_hours"][i]]
            ),
            brand_id=c["brand_id"][i],
            delivery_polygon=_locations(c["delivery_polygon"][i]),
            cuisines=tuple(c["cuisines"][i]),
            tags=tuple(c["tags"][i]),
            price_level=c["price_level"][i],
            rating=c["rating"][i],
            rating_count=c["rating_count"][i],
            prep_time_min=c["prep_time_min"][i],
            onboarded_on=c["onboarded_on"][i],
            status=VenueStatus(c["status"][i]),
            categories=tuple(c["categories"][i]),
        )
        for i in range(table.num_rows)
    ]


def item_table(items: Iterable[Item]) -> pa.Table:
    """One row per item, in the given order."""
    rows = list(items)
    columns: dict[str, list[Any]] = {
        "id": [i.id for i in rows],
        "venue_id": [i.venue_id for i in rows],
        "name": [i.name for i in rows],
        "category": [i.category for i in rows],
        "price": [i.price for i in rows],
        "tags": [list(i.tags) for i in rows],
        "available": [i.available for i in rows],
    }
    return pa.Table.from_pydict(columns, schema=ITEM_SCHEMA)


def items_from_table(table: pa.Table) -> list[Item]:
    """The items of an :func:`item_table`, in row order."""
    c = _columns(table)
    return [
        Item(
            id=c["id"][k],
            venue_id=c["venue_id"][k],
            name=c["name"][k],
            category=c["category"][k],
            price=c["price"][k],
            tags=tuple(c["tags"][k]),
            available=c["available"][k],
        )
        for k in range(table.num_rows)
    ]


def customer_table(customers: Iterable[Customer]) -> pa.Table:
    """One row per customer; a missing home or work place is a null pair."""
    rows = list(customers)
    columns: dict[str, list[Any]] = {
        "id": [c.id for c in rows],
        "city_id": [c.city_id for c in rows],
        "home_lat": [c.home.lat if c.home else None for c in rows],
        "home_lon": [c.home.lon if c.home else None for c in rows],
        "work_lat": [c.work.lat if c.work else None for c in rows],
        "work_lon": [c.work.lon if c.work else None for c in rows],
    }
    return pa.Table.from_pydict(columns, schema=CUSTOMER_SCHEMA)


def customers_from_table(table: pa.Table) -> list[Customer]:
    """The customers of a :func:`customer_table`, in row order."""
    c = _columns(table)
    return [
        Customer(
            id=c["id"][k],
            city_id=c["city_id"][k],
            home=_location(c["home_lat"][k], c["home_lon"][k]),
            work=_location(c["work_lat"][k], c["work_lon"][k]),
        )
        for k in range(table.num_rows)
    ]


def _columns(table: pa.Table) -> dict[str, list[Any]]:
    # Column-wise conversion is several times faster than building row dicts.
    return {name: table.column(name).to_pylist() for name in table.column_names}


def _points(polygon: tuple[Location, ...] | None) -> list[dict[str, float]] | None:
    if polygon is None:
        return None
    return [{"lat": p.lat, "lon": p.lon} for p in polygon]


def _locations(points: list[dict[str, float]] | None) -> tuple[Location, ...] | None:
    if points is None:
        return None
    return tuple(Location(p["lat"], p["lon"]) for p in points)


def _location(lat: float | None, lon: float | None) -> Location | None:
    if lat is None or lon is None:
        return None
    return Location(lat, lon)
