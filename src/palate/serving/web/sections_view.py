"""Discovery as the storefront shows it: the sections of ``POST /v1/discovery/sections``.

The page calls the same code as the endpoint (one Discovery run over the pool, sections cut
from it and ordered by the bandit), then explains the venues it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from palate.pipeline import PipelineResult
from palate.serving.entry_points_api import sections_of, serve_pool
from palate.serving.schemas import DiscoveryRequest, LocationIn
from palate.serving.state import ServingState
from palate.serving.web.context import ShopContext
from palate.serving.web.views import venue_cards
from palate.settings import Settings


@dataclass(frozen=True, slots=True)
class DiscoveryPage:
    """The sections in the bandit's order (name, title, venue cards) and the ranking behind."""

    sections: list[dict[str, object]]
    result: PipelineResult


def discovery_page_sections(
    state: ServingState, settings: Settings, ctx: ShopContext
) -> DiscoveryPage:
    """Sections for the shopper's context, each venue card carrying its explanation."""
    body = DiscoveryRequest(
        user_id=ctx.user_id,
        location=LocationIn(lat=ctx.location.lat, lon=ctx.location.lon),
        time=ctx.when,
        limit=settings.sections.venues_per_section,
    )
    served = serve_pool(state, settings, body, settings.sections.pool, "sections")
    per_section = settings.sections.venues_per_section
    ordered = sections_of(state, settings, served, per_section)
    result = served.result
    ids = state.index.venue_ids[result.candidates.positions].tolist()
    row_of = {venue_id: row for row, venue_id in enumerate(ids)}
    shown = []
    for section in ordered:
        venues = cast("list[dict[str, object]]", section["venues"])
        rows = np.array([row_of[str(v["venue_id"])] for v in venues], dtype=np.int32)
        shown.append(
            {
                "name": section["name"],
                "title": section["title"],
                "anchor": "section-" + str(section["name"]).replace(":", "-"),
                "venues": venue_cards(state, settings, result, rows),
            }
        )
    return DiscoveryPage(shown, result)
