"""Pure marketplace types: no I/O, no project imports outside this package."""

from __future__ import annotations

from palate.domain.catalog import Banner, Brand, Catalog, Category, Customer, Item
from palate.domain.events import (
    AddToCart,
    Click,
    EntityKind,
    Event,
    EventType,
    Impression,
    Order,
    OrderLine,
    Premise,
)
from palate.domain.geo import Location, haversine_m
from palate.domain.hours import WeeklyHours
from palate.domain.market import City, Market
from palate.domain.requests import RankingRequest
from palate.domain.venue import Venue, VenueStatus

__all__ = [
    "AddToCart",
    "Banner",
    "Brand",
    "Catalog",
    "Category",
    "City",
    "Click",
    "Customer",
    "EntityKind",
    "Event",
    "EventType",
    "Impression",
    "Item",
    "Location",
    "Market",
    "Order",
    "OrderLine",
    "Premise",
    "RankingRequest",
    "Venue",
    "VenueStatus",
    "WeeklyHours",
    "haversine_m",
]
