"""Palate: real-time personalisation for delivery marketplaces.

The public API is what this module exports; everything else is internal and may change.
"""

from __future__ import annotations

from palate.domain import (
    AddToCart,
    Banner,
    Brand,
    Catalog,
    Category,
    City,
    Click,
    Customer,
    EntityKind,
    Event,
    EventType,
    Impression,
    Item,
    Location,
    Market,
    Order,
    OrderLine,
    Premise,
    RankingRequest,
    Venue,
    VenueStatus,
    WeeklyHours,
)
from palate.errors import ConfigurationError, DataError, PalateError, UnknownDatasetError
from palate.settings import Settings, load_settings

__version__ = "0.1.0"

__all__ = [
    "AddToCart",
    "Banner",
    "Brand",
    "Catalog",
    "Category",
    "City",
    "Click",
    "ConfigurationError",
    "Customer",
    "DataError",
    "EntityKind",
    "Event",
    "EventType",
    "Impression",
    "Item",
    "Location",
    "Market",
    "Order",
    "OrderLine",
    "PalateError",
    "Premise",
    "RankingRequest",
    "Settings",
    "UnknownDatasetError",
    "Venue",
    "VenueStatus",
    "WeeklyHours",
    "__version__",
    "load_settings",
]
