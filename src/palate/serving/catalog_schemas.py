"""Catalog API bodies and their conversion into domain types."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from palate.domain.catalog import Banner, Category, Item
from palate.domain.geo import Location
from palate.domain.hours import DAY_NAMES, MINUTES_PER_DAY, WeeklyHours, parse_clock
from palate.domain.venue import Venue, VenueStatus
from palate.serving.schemas import LocationIn

DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

VENUE_EXAMPLE: dict[str, Any] = {
    "id": "v-new-1",
    "name": "Trattoria Nuova",
    "city_id": "hel",
    "location": {"lat": 60.168, "lon": 24.941},
    "delivery_radius_m": 3500,
    "opening_hours": {"mon": [["11:00", "22:00"]], "fri": [["11:00", "02:00"]]},
    "cuisines": ["italian", "pizza"],
    "price_level": 2,
    "rating": 4.5,
    "rating_count": 120,
}


class Strict(BaseModel):
    """Unknown fields are rejected so typos surface as 422s."""

    model_config = ConfigDict(extra="forbid")


class VenueIn(Strict):
    """A venue; ``opening_hours`` maps day names to ``[open, close]`` local clock pairs.

    A closing time at or before the opening time runs past midnight (``["18:00", "02:00"]``).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [VENUE_EXAMPLE]})

    id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1)
    city_id: str = Field(min_length=1)
    location: LocationIn
    delivery_radius_m: float = Field(gt=0, le=100_000)
    opening_hours: dict[DayName, list[tuple[str, str]]]
    brand_id: str | None = None
    delivery_polygon: list[LocationIn] | None = Field(default=None, min_length=3)
    cuisines: list[str] = []
    tags: list[str] = []
    categories: list[str] = []
    price_level: int = Field(default=2, ge=1, le=4)
    rating: float = Field(default=0.0, ge=0.0, le=5.0)
    rating_count: int = Field(default=0, ge=0)
    prep_time_min: float = Field(default=15.0, ge=0.0)
    onboarded_on: date | None = None
    status: VenueStatus = VenueStatus.ONLINE

    @field_validator("opening_hours")
    @classmethod
    def _hours_parse(
        cls, value: dict[DayName, list[tuple[str, str]]]
    ) -> dict[DayName, list[tuple[str, str]]]:
        weekly_hours(value)  # raises ValueError naming the bad clock time
        return value

    def to_domain(self) -> Venue:
        """The domain venue."""
        return Venue(
            id=self.id,
            name=self.name,
            city_id=self.city_id,
            location=Location(self.location.lat, self.location.lon),
            delivery_radius_m=self.delivery_radius_m,
            opening_hours=weekly_hours(self.opening_hours),
            brand_id=self.brand_id,
            delivery_polygon=None
            if self.delivery_polygon is None
            else tuple(Location(p.lat, p.lon) for p in self.delivery_polygon),
            cuisines=tuple(self.cuisines),
            tags=tuple(self.tags),
            categories=tuple(self.categories),
            price_level=self.price_level,
            rating=self.rating,
            rating_count=self.rating_count,
            prep_time_min=self.prep_time_min,
            onboarded_on=self.onboarded_on,
            status=self.status,
        )


def weekly_hours(spec: dict[DayName, list[tuple[str, str]]]) -> WeeklyHours:
    """``{"fri": [["18:00", "02:00"]]}`` → intervals in minutes since Monday 00:00."""
    intervals: list[tuple[int, int]] = []
    for day, pairs in spec.items():
        offset = DAY_NAMES.index(day) * MINUTES_PER_DAY
        for opens, closes in pairs:
            start, end = parse_clock(opens), parse_clock(closes)
            if end <= start:
                end += MINUTES_PER_DAY
            intervals.append((offset + start, offset + end))
    return WeeklyHours(tuple(sorted(intervals)))


class ItemIn(Strict):
    """A menu item or product."""

    id: str = Field(min_length=1, max_length=128)
    venue_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    category: str = Field(min_length=1)
    price: float = Field(ge=0)
    tags: list[str] = []
    available: bool = True

    def to_domain(self) -> Item:
        """The domain item."""
        return Item(
            self.id,
            self.venue_id,
            self.name,
            self.category,
            self.price,
            tuple(self.tags),
            self.available,
        )


class BannerIn(Strict):
    """A banner pointing at a venue, brand or category."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    target_kind: Literal["venue", "brand", "category"]
    target_id: str = Field(min_length=1)
    markets: list[str] = []
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def to_domain(self) -> Banner:
        """The domain banner."""
        return Banner(
            self.id,
            self.title,
            self.target_kind,
            self.target_id,
            tuple(self.markets),
            self.valid_from,
            self.valid_to,
        )


class CategoryIn(Strict):
    """A food category tile."""

    id: str = Field(min_length=1)
    slug: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)

    def to_domain(self) -> Category:
        """The domain category."""
        return Category(self.id, self.slug, self.name)


class VenuesBody(Strict):
    """``PUT /v1/catalog/venues``."""

    venues: list[VenueIn] = Field(min_length=1, max_length=10_000)


class ItemsBody(Strict):
    """``PUT /v1/catalog/items``."""

    items: list[ItemIn] = Field(min_length=1, max_length=100_000)


class BannersBody(Strict):
    """``PUT /v1/catalog/banners``."""

    banners: list[BannerIn] = Field(min_length=1, max_length=10_000)


class CategoriesBody(Strict):
    """``PUT /v1/catalog/categories``."""

    categories: list[CategoryIn] = Field(min_length=1, max_length=10_000)


class VenuePatch(Strict):
    """Partial update of a venue: status and/or a temporary closure."""

    status: VenueStatus | None = None
    closed_until: datetime | None = Field(
        default=None, description="Closed until this instant; null in the body reopens"
    )


class ItemPatch(Strict):
    """Partial update of an item."""

    available: bool


class UpsertResult(BaseModel):
    """How many entities a bulk upsert stored."""

    upserted: int
