"""Delivery areas and the venue invariants."""

from __future__ import annotations

import math

import pytest

from palate.domain import Location, Venue, VenueStatus, WeeklyHours, haversine_m
from palate.domain.geo import EARTH_RADIUS_M


def _north_of(origin: Location, metres: float) -> Location:
    return Location(origin.lat + math.degrees(metres / EARTH_RADIUS_M), origin.lon)


def _venue(**overrides: object) -> Venue:
    values: dict[str, object] = {
        "id": "v1",
        "name": "Pizzeria",
        "city_id": "hel",
        "location": Location(60.17, 24.94),
        "delivery_radius_m": 3000.0,
        "opening_hours": WeeklyHours.always(),
    }
    values.update(overrides)
    return Venue(**values)  # type: ignore[arg-type]


def test_delivery_radius_edge() -> None:
    venue = _venue()
    assert venue.delivers_to(_north_of(venue.location, 2999.0))
    assert not venue.delivers_to(_north_of(venue.location, 3001.0))
    assert abs(haversine_m(venue.location, _north_of(venue.location, 2999.0)) - 2999.0) < 0.01


def test_polygon_overrides_radius() -> None:
    square = (
        Location(60.0, 24.0),
        Location(60.0, 25.0),
        Location(60.5, 25.0),
        Location(60.5, 24.0),
    )
    venue = _venue(delivery_polygon=square, delivery_radius_m=10.0)
    assert venue.delivers_to(Location(60.4, 24.9))  # far beyond the radius, inside the polygon
    assert not venue.delivers_to(Location(60.6, 24.5))


def test_paused_venues_take_no_orders() -> None:
    assert _venue().takes_orders
    assert _venue(status=VenueStatus.BUSY).takes_orders
    assert not _venue(status=VenueStatus.PAUSED).takes_orders


@pytest.mark.parametrize(
    ("field", "value"), [("price_level", 5), ("rating", 5.5), ("delivery_radius_m", 0.0)]
)
def test_invalid_venues_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        _venue(**{field: value})


def test_locations_are_validated() -> None:
    with pytest.raises(ValueError, match="lat"):
        Location(123.0, 0.0)
