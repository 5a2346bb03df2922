"""Venues: restaurants, grocers and shops that deliver."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from palate.domain.geo import Location, haversine_m, point_in_polygon
from palate.domain.hours import WeeklyHours


class VenueStatus(StrEnum):
    """Operational status; only ``online`` and ``busy`` venues take orders."""

    ONLINE = "online"
    BUSY = "busy"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Venue:
    """A venue with its delivery area and weekly opening hours (local time of its city)."""

    id: str
    name: str
    city_id: str
    location: Location
    delivery_radius_m: float
    opening_hours: WeeklyHours
    brand_id: str | None = None
    delivery_polygon: tuple[Location, ...] | None = None
    cuisines: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    price_level: int = 2
    rating: float = 0.0
    rating_count: int = 0
    prep_time_min: float = 15.0
    onboarded_on: date | None = None
    status: VenueStatus = VenueStatus.ONLINE
    categories: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 1 <= self.price_level <= 4:
            raise ValueError(f"price_level must be 1-4, got {self.price_level}")
        if self.delivery_radius_m <= 0:
            raise ValueError("delivery_radius_m must be positive")
        if not 0.0 <= self.rating <= 5.0:
            raise ValueError(f"rating must be within [0, 5], got {self.rating}")

    def delivers_to(self, point: Location) -> bool:
        """Inside the polygon when one is set, else within the radius (edge included)."""
        if self.delivery_polygon:
            return point_in_polygon(point, self.delivery_polygon)
        return haversine_m(self.location, point) <= self.delivery_radius_m

    @property
    def takes_orders(self) -> bool:
        """Paused venues are never served."""
        return self.status is not VenueStatus.PAUSED
