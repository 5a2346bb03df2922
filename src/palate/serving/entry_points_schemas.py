"""Response bodies of the entry points (banners, category tiles, brands) and of sections."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from palate.serving.schemas import DISCOVERY_EXAMPLE, RankedVenue, StageOut

ENTRY_EXAMPLE: dict[str, Any] = {**DISCOVERY_EXAMPLE, "limit": 8}
SECTIONS_EXAMPLE: dict[str, Any] = {**DISCOVERY_EXAMPLE, "limit": 10}


class EntryOut(BaseModel):
    """Fields of every entry point."""

    score: float = Field(description="Click rate (sampled when explored) × relevance boost")
    explored: bool = Field(
        default=False, description="Promoted by Thompson sampling within the exploration budget"
    )


class BannerOut(EntryOut):
    """A banner and what it points at."""

    banner_id: str
    title: str
    target_kind: str
    target_id: str


class CategoryTileOut(EntryOut):
    """A food-category tile and how many deliverable, open venues it leads to."""

    category_id: str
    slug: str
    name: str
    venues: int


class BrandOut(EntryOut):
    """A brand and how many of its venues deliver here now."""

    brand_id: str
    name: str
    venues: int


class EntryResponse(BaseModel):
    """Fields every entry-point answer carries."""

    request_id: str
    degraded: bool = False
    trace: list[StageOut] | None = None


class BannersResponse(EntryResponse):
    """Banners, best first."""

    banners: list[BannerOut]


class CategoriesResponse(EntryResponse):
    """Category tiles, best first."""

    categories: list[CategoryTileOut]


class BrandsResponse(EntryResponse):
    """Brands, best first."""

    brands: list[BrandOut]


class SectionVenues(BaseModel):
    """One Discovery section: ``name`` is what impressions send back as ``section``."""

    name: str = Field(description="Stable key, e.g. order_again, for_you, cuisine:pizza")
    title: str
    venues: list[RankedVenue]


class SectionsResponse(EntryResponse):
    """Sections in the bandit's order, each venue in at most ``sections.max_per_venue``."""

    sections: list[SectionVenues]
    scorer: str
