"""``/ui``: Discovery, a category page and a venue page for a simulated customer.

Pages rank in-process through the same premises as the public API; this page request's id is
the ranking's ``request_id``, which the browser sends back with the events it leads to.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from palate.catalog.item_query import ItemQuery
from palate.pipeline import PipelineResult
from palate.pipeline.candidates import IntArray
from palate.premises.venue_items import sections
from palate.retrieval.category import CategoryRequest, resolve_category
from palate.serving.dependencies import SettingsDep, StateDep
from palate.serving.premises_api import ranked_items
from palate.serving.state import ServingState
from palate.serving.web.context import ShopContext, customer_choices, shop_context
from palate.serving.web.sections_view import discovery_page_sections
from palate.serving.web.templating import render
from palate.serving.web.views import CityMap, city_map, venue_cards, why_rows

router = APIRouter(include_in_schema=False)
VENUE_LIMIT = 24
ITEM_LIMIT = 60


def map_of(request: Request, state: ServingState, ctx: ShopContext) -> CityMap:
    """The city's map, projected once per app and city."""
    maps: dict[str, CityMap] = request.app.state.__dict__.setdefault("ui_maps", {})
    if ctx.city.id not in maps:
        maps[ctx.city.id] = city_map(state.catalog, ctx.city)
    return maps[ctx.city.id]


def top(result: PipelineResult, limit: int) -> IntArray:
    """The rows of the first ``limit`` ranked candidates."""
    return np.arange(min(limit, len(result.candidates)), dtype=np.int32)


def page_context(request: Request, state: ServingState, ctx: ShopContext) -> dict[str, Any]:
    """What every storefront page shows: the context picker and its map."""
    chart = map_of(request, state, ctx)
    return {
        "ctx": ctx,
        "customers": customer_choices(state.catalog),
        "map": chart,
        "here": chart.project(ctx.location.lat, ctx.location.lon),
        "hours": range(24),
    }


@router.get("/ui", response_class=HTMLResponse)
async def discovery_page(request: Request, state: StateDep, settings: SettingsDep) -> HTMLResponse:
    """Discovery's sections for the chosen customer, place and hour, in the bandit's order."""
    ctx = shop_context(request, state.catalog)
    page = discovery_page_sections(state, settings, ctx)
    result = page.result
    categories = sorted(state.catalog.categories.values(), key=lambda c: c.name)
    return render(
        request,
        "discovery.html",
        {
            **page_context(request, state, ctx),
            "sections": page.sections,
            "categories": categories,
            "scorer": result.scorer,
            "degraded": result.trace.degraded,
            "trace": [stage.as_dict() for stage in result.trace.stages],
        },
    )


@router.get("/ui/categories/{category}", response_class=HTMLResponse)
async def category_page(
    category: str, request: Request, state: StateDep, settings: SettingsDep
) -> HTMLResponse:
    """The venues of one food category, ranked for this customer."""
    category_id = resolve_category(state.catalog, category)
    if category_id is None:
        raise HTTPException(404, f"unknown category {category!r}")
    ctx = shop_context(request, state.catalog)
    result = state.category.run(
        CategoryRequest(ctx.user_id, ctx.location, ctx.when, VENUE_LIMIT, category_id)
    )
    return render(
        request,
        "category.html",
        {
            **page_context(request, state, ctx),
            "category": state.catalog.categories[category_id],
            "venues": venue_cards(state, settings, result, top(result, VENUE_LIMIT)),
            "scorer": result.scorer,
            "trace": [stage.as_dict() for stage in result.trace.stages],
        },
    )


@router.get("/ui/venues/{venue_id}", response_class=HTMLResponse)
async def venue_page(venue_id: str, request: Request, state: StateDep) -> HTMLResponse:
    """A venue's items ranked for this customer, its sections, and the cart with cross-sell."""
    venue = state.catalog.venues.get(venue_id)
    if venue is None:
        raise HTTPException(404, f"unknown venue {venue_id!r}")
    ctx = shop_context(request, state.catalog)
    query = ItemQuery.at(state.editor.items, ctx.user_id, venue_id, ctx.when, ITEM_LIMIT)
    result = state.venue_items.run(query)
    shown = result.candidates.take(slice(0, ITEM_LIMIT))
    items = ranked_items(query.columns, shown)
    for item, why in zip(items, why_rows(shown), strict=True):
        item["name"] = state.catalog.items[str(item["item_id"])].name
        item["why"] = why
    return render(
        request,
        "venue.html",
        {
            **page_context(request, state, ctx),
            "venue": venue,
            "items": items,
            "sections": [asdict(s) for s in sections(query.columns, result.candidates)],
            "menu": venue_menu(state, query),
            "scorer": result.scorer,
        },
    )


def venue_menu(state: ServingState, query: ItemQuery) -> dict[str, dict[str, object]]:
    """Every item of the venue by id (name, price) so the cart can show any of them."""
    lo, hi = query.columns.spans.get(query.venue_id, (0, 0))
    menu: dict[str, dict[str, object]] = {}
    for item_id in query.columns.item_ids[lo:hi].tolist():
        item = state.catalog.items.get(item_id)
        if item is not None:
            menu[item_id] = {"name": item.name, "price": item.price}
    return menu
