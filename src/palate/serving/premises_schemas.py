"""Request and response bodies of the category page, in-venue and cart premises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from palate.serving.schemas import (
    DISCOVERY_EXAMPLE,
    DiscoveryRequest,
    DiscoveryResponse,
    Explanation,
    LocationIn,
    StageOut,
)

CATEGORY_EXAMPLE: dict[str, Any] = {**DISCOVERY_EXAMPLE, "category": "pizza"}
VENUE_ITEMS_EXAMPLE: dict[str, Any] = {
    "user_id": "u42",
    "time": "2026-09-18T17:30:00Z",
    "limit": 30,
    "explain": False,
}
CART_EXAMPLE: dict[str, Any] = {
    "user_id": "u42",
    "venue_id": "v7",
    "lines": [{"item_id": "i120", "quantity": 1}],
    "time": "2026-09-18T17:30:00Z",
    "limit": 5,
}


class CategoryRequestIn(DiscoveryRequest):
    """A Discovery request plus the category (its id or slug)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CATEGORY_EXAMPLE]})

    category: str = Field(min_length=1, max_length=128, description="Category id or slug")


class VenueItemsRequest(BaseModel):
    """Who is looking at the venue's menu, and when (default: now)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [VENUE_ITEMS_EXAMPLE]})

    user_id: str = Field(min_length=1, max_length=128)
    time: datetime | None = Field(
        default=None, description="ISO 8601; without an offset it is taken as UTC"
    )
    limit: int | None = Field(default=None, ge=1, description="How many items (default 50)")
    trace: bool = Field(default=False, description="Include the per-stage trace")
    explain: bool = Field(
        default=False, description="Explain each returned item: its score's terms, rules"
    )


class CartLine(BaseModel):
    """One line of the cart."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=128)
    quantity: int = Field(default=1, ge=1)


class CartRequest(BaseModel):
    """The customer's cart at one venue."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CART_EXAMPLE]})

    user_id: str = Field(min_length=1, max_length=128)
    venue_id: str = Field(min_length=1, max_length=128)
    lines: list[CartLine] = Field(default_factory=list, max_length=200)
    time: datetime | None = Field(
        default=None, description="ISO 8601; without an offset it is taken as UTC"
    )
    location: LocationIn | None = Field(
        default=None, description="Delivery point (optional; the market is the venue's)"
    )
    limit: int = Field(default=5, ge=1, description="How many recommendations")
    trace: bool = Field(default=False, description="Include the per-stage trace")
    explain: bool = Field(
        default=False, description="Explain each returned item: its score's terms, rules"
    )


class RankedItem(BaseModel):
    """One item of a ranking."""

    item_id: str
    category: str
    price: float
    score: float
    sponsored: bool = Field(default=False, description="Placed by a sponsored-slot rule")
    explanation: Explanation | None = Field(
        default=None,
        description="Only with explain: the score's terms (they sum to the score, a boost rule's "
        "change included as ``boost``) and the ids of the rules that fired on the item",
    )


class SectionOut(BaseModel):
    """A titled group of item ids; ``category`` is set for menu-category sections."""

    title: str
    category: str | None = None
    item_ids: list[str]


class PremiseResponse(BaseModel):
    """Fields every premise answer carries."""

    request_id: str
    degraded: bool = False
    scorer: str
    trace: list[StageOut] | None = None


class VenueItemsResponse(PremiseResponse):
    """The venue's available items for this customer, best first, and the menu's sections."""

    venue_id: str
    items: list[RankedItem]
    sections: list[SectionOut]


class CartResponse(PremiseResponse):
    """Items to add to the cart, best first."""

    venue_id: str
    items: list[RankedItem]


class CategoryResponse(DiscoveryResponse):
    """Discovery's answer for the venues of one category (its resolved id)."""

    category: str
