"""Behaviour events: a closed set of types, each with id, user, UTC time and location."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from palate.domain.geo import Location


class EventType(StrEnum):
    """The discriminator of every event."""

    IMPRESSION = "impression"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    ORDER = "order"


class Premise(StrEnum):
    """Where in the shopping journey something was shown."""

    DISCOVERY = "discovery"
    CATEGORY = "category"
    VENUE = "venue"
    CART = "cart"
    BANNERS = "banners"
    CATEGORIES = "categories"
    BRANDS = "brands"


class EntityKind(StrEnum):
    """What an impression or click points at."""

    VENUE = "venue"
    ITEM = "item"
    BANNER = "banner"
    CATEGORY = "category"
    BRAND = "brand"


@dataclass(frozen=True, slots=True, kw_only=True)
class EventBase:
    """Fields every event carries; ``ts`` must be timezone-aware (UTC)."""

    event_id: str
    user_id: str
    ts: datetime
    location: Location | None = None

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError("ts must be timezone-aware")


@dataclass(frozen=True, slots=True, kw_only=True)
class Impression(EventBase):
    """An entity shown at ``position`` (0-based) of a served ranking."""

    request_id: str
    premise: Premise
    entity_kind: EntityKind
    entity_id: str
    position: int
    section: str | None = None
    type: EventType = EventType.IMPRESSION


@dataclass(frozen=True, slots=True, kw_only=True)
class Click(EventBase):
    """A tap on a shown entity; ``request_id`` links it to its impression."""

    entity_kind: EntityKind
    entity_id: str
    request_id: str | None = None
    premise: Premise | None = None
    section: str | None = None
    type: EventType = EventType.CLICK


@dataclass(frozen=True, slots=True, kw_only=True)
class AddToCart(EventBase):
    """An item put into the basket."""

    venue_id: str
    item_id: str
    quantity: int = 1
    request_id: str | None = None
    type: EventType = EventType.ADD_TO_CART


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order."""

    item_id: str
    quantity: int
    unit_price: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Order(EventBase):
    """A placed order from one venue."""

    order_id: str
    venue_id: str
    lines: tuple[OrderLine, ...]
    total: float
    request_id: str | None = None
    type: EventType = EventType.ORDER


Event = Impression | Click | AddToCart | Order
