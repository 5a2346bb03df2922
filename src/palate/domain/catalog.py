"""Items, food categories, brands, banners, customers, and the catalog that holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from palate.domain.geo import Location
from palate.domain.market import City, Market
from palate.domain.venue import Venue


@dataclass(frozen=True, slots=True)
class Item:
    """A menu item or product of one venue; ``tags`` carry e.g. ``vegetarian`` or ``alcohol``."""

    id: str
    venue_id: str
    name: str
    category: str
    price: float
    tags: tuple[str, ...] = ()
    available: bool = True

    def __post_init__(self) -> None:
        if self.price < 0:
            raise ValueError(f"price must be non-negative, got {self.price}")


@dataclass(frozen=True, slots=True)
class Category:
    """A food category shown as a tile (Pizza, Sushi, Grocery …)."""

    id: str
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Brand:
    """A chain or brand that owns several venues."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Banner:
    """A promotional banner pointing at a venue, brand or category."""

    id: str
    title: str
    target_kind: str  # "venue" | "brand" | "category"
    target_id: str
    markets: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def is_valid_at(self, moment: datetime) -> bool:
        """Inside the validity window (open-ended where a bound is missing)."""
        if self.valid_from is not None and moment < self.valid_from:
            return False
        return self.valid_to is None or moment < self.valid_to


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer; home and work are where they usually order to."""

    id: str
    city_id: str
    home: Location | None = None
    work: Location | None = None


@dataclass(slots=True)
class Catalog:
    """Everything a marketplace sells, keyed by id."""

    markets: dict[str, Market] = field(default_factory=dict)
    cities: dict[str, City] = field(default_factory=dict)
    venues: dict[str, Venue] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    brands: dict[str, Brand] = field(default_factory=dict)
    banners: dict[str, Banner] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)

    def timezone_of(self, venue: Venue) -> str:
        """The venue's timezone: its city's, else its market's."""
        city = self.cities[venue.city_id]
        return city.timezone or self.markets[city.market_id].timezone

    def items_of(self, venue_id: str) -> list[Item]:
        """The venue's items in catalog order."""
        return [item for item in self.items.values() if item.venue_id == venue_id]
