"""``POST /v1/banners``, ``/v1/categories``, ``/v1/brands`` and ``/v1/discovery/sections``.

Each runs Discovery once over a wider pool, cuts what it serves from that ranking, and orders
it with Thompson sampling on click rates that ``/v1/events`` keeps up to date.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body, Request

from palate.domain.requests import RankingRequest
from palate.experiments.arms import BanditConfig
from palate.experiments.budget import ExplorationBudget
from palate.experiments.thompson import ReseededRng
from palate.features.entity_engagement import (
    CityLocator,
    EntityEngagement,
    EntityEngagementConfig,
    Evidence,
)
from palate.features.store import ReadBatch
from palate.observability.metrics import Metrics
from palate.pipeline import PipelineResult
from palate.premises.entry_points import (
    Exploration,
    Here,
    Tile,
    TileReads,
    banner_tiles,
    brand_tiles,
    category_tiles,
    order_tiles,
    plan_tile_reads,
    tag_weights,
    weights_of,
)
from palate.premises.sections import SectionConfig, Shown, Taste, build_sections, order_sections
from palate.ranking.learned import served_factors
from palate.serving.dependencies import MetricsDep, SettingsDep, StateDep
from palate.serving.discovery import ranked_venues, run_discovery, to_ranking_request
from palate.serving.entry_points_schemas import (
    ENTRY_EXAMPLE,
    SECTIONS_EXAMPLE,
    BannersResponse,
    BrandsResponse,
    CategoriesResponse,
    SectionsResponse,
)
from palate.serving.responses import JsonResponse
from palate.serving.schemas import BAD_INPUT, DiscoveryRequest
from palate.serving.state import ServingState
from palate.settings import Settings

router = APIRouter(tags=["entry points"])
ERRORS = BAD_INPUT
EntryBody = Annotated[
    DiscoveryRequest, Body(openapi_examples={"evening": {"value": ENTRY_EXAMPLE}})
]
SectionsBody = Annotated[
    DiscoveryRequest, Body(openapi_examples={"evening": {"value": SECTIONS_EXAMPLE}})
]


def engagement_of(state: ServingState, settings: Settings) -> EntityEngagement:
    """The state's entry-point engagement, created on first use when the state has none."""
    if state.engagement is None:
        config = EntityEngagementConfig(half_life_hours=settings.exploration.half_life_hours)
        locator = CityLocator(state.catalog.cities)
        state.engagement = EntityEngagement(state.features.store, locator, config)
    return state.engagement


def engagement_writer(state: ServingState, settings: Settings) -> Any:
    """The entry-point counters' write path as an ingestion callback."""

    def write(events: Any) -> None:
        engagement_of(state, settings).ingest(events)

    return write


@dataclass(frozen=True, slots=True)
class Served:
    """One Discovery run over the pool, who and where it was for, and the entry point's own
    reads when they joined Discovery's (None: it reads on its own)."""

    request: RankingRequest
    result: PipelineResult
    shown: Shown
    tile_reads: TileReads | None = None


def serve_pool(
    state: ServingState,
    settings: Settings,
    body: DiscoveryRequest,
    pool: int,
    kind: str | None = None,
) -> Served:
    """Run Discovery once for ``pool`` venues; locate the request's city and market. With an
    entry point's ``kind`` its reads join Discovery's: one store round trip for the request."""
    request = to_ranking_request(body, settings)
    engagement = engagement_of(state, settings)
    point = request.location
    city = engagement.locator.city_of(np.array([point.lat]), np.array([point.lon]))[0]
    market = None if city is None else engagement.locator.market.get(city)
    shown = Shown(request.user_id, city, market, request.when)
    planned: list[TileReads] = []

    def also_read(reads: ReadBatch) -> None:
        features, cuisines = state.features.features, state.index.cuisines.vocabulary
        tile_reads = plan_tile_reads(
            reads, kind or "", features, engagement, state.catalog, shown, cuisines
        )
        planned.append(tile_reads)

    pooled = replace(request, limit=max(pool, request.limit))
    result = run_discovery(state, settings, pooled, None if kind is None else also_read)
    joined = planned[0] if planned and result.reads is not None else None
    return Served(request, result, shown, joined)


# Re-seeded per request rather than built (a new generator costs more than the draws); the
# generator is used at once by the caller, before this thread asks for another.
_SEEDED = ReseededRng()


def exploration(settings: Settings, premise: str, served: Served) -> Exploration:
    """Bandit prior, budget and this request's seeded generator (use it before the next call)."""
    x = settings.exploration
    rng = _SEEDED(x.seed, premise, served.request.user_id, served.request.when.isoformat())
    return Exploration(
        BanditConfig(x.base_ctr, x.prior_strength, x.relevance_weight),
        ExplorationBudget(x.max_slots, x.max_share),
        rng,
    )


def envelope(
    request: Request, served: Served, premise: str, metrics: Metrics, trace: bool
) -> dict[str, object]:
    """``request_id``, ``degraded`` and the optional trace; counts degradations."""
    for reason in served.result.trace.degraded_reasons:
        metrics.degraded.labels(premise, reason).inc()
    payload: dict[str, object] = {
        "request_id": request.state.request_id,
        "degraded": served.result.trace.degraded,
    }
    if trace:
        payload["trace"] = [stage.as_dict() for stage in served.result.trace.stages]
    return payload


def tiles_for(kind: str, state: ServingState, served: Served) -> list[Tile]:
    """The servable tiles of one kind."""
    candidates = served.result.candidates
    if kind == "brands":
        return brand_tiles(candidates, state.index, state.catalog)
    weights = served_weights(state, served, "category_affinity")
    if kind == "categories":
        return category_tiles(candidates, state.index, state.catalog, weights)
    here = Here(candidates, served.shown.market_id, served.shown.now)
    return banner_tiles(here, state.index, state.catalog, weights)


def served_weights(state: ServingState, served: Served, feature: str) -> dict[str, float]:
    """The customer's tag weights of ``feature``: from the shared read when they were planned
    there, else a read of their own."""
    planned = served.tile_reads
    if planned is not None and planned.weights_feature == feature:
        handle = planned.weights
        return weights_of(None if handle is None else served.result.reads[handle])
    store, features, shown = state.features.store, state.features.features, served.shown
    return tag_weights(store, features, feature, shown.user_id, shown.now)


def tile_evidence(
    state: ServingState, settings: Settings, served: Served
) -> Callable[[list[str]], list[Evidence]]:
    """The tiles' evidence: from the shared read when it was planned there, else a read."""
    planned = served.tile_reads
    if planned is not None and planned.evidence is not None:
        return functools.partial(planned.evidence.levels, served.result.reads)
    shown = served.shown
    engagement = engagement_of(state, settings)

    def read(arms: list[str]) -> list[Evidence]:
        return engagement.evidence(arms, shown.user_id, shown.city_id, shown.market_id, shown.now)

    return read


def entry_points(
    kind: str,
    body: DiscoveryRequest,
    request: Request,
    state: ServingState,
    settings: Settings,
    metrics: Metrics,
) -> JsonResponse:
    """One entry-point answer: servable tiles in the budgeted Thompson order."""
    served = serve_pool(state, settings, body, settings.exploration.candidate_pool, kind)
    tiles = tiles_for(kind, state, served)
    ordered = order_tiles(
        tiles,
        tile_evidence(state, settings, served),
        exploration(settings, kind, served),
        served.request.limit,
    )
    payload = envelope(request, served, kind, metrics, body.trace)
    payload[kind] = ordered
    return JsonResponse(payload)


@router.post(
    "/v1/banners",
    response_model=BannersResponse,
    responses=ERRORS,
    summary="Banners valid here and now, personalised, new ones explored",
)
async def banners(
    body: EntryBody, request: Request, state: StateDep, settings: SettingsDep, metrics: MetricsDep
) -> JsonResponse:
    """Valid banners of this market pointing at something deliverable; ``explored`` marks the
    ones Thompson sampling promoted within the exploration budget."""
    return entry_points("banners", body, request, state, settings, metrics)


@router.post(
    "/v1/categories",
    response_model=CategoriesResponse,
    responses=ERRORS,
    summary="Food-category tiles with deliverable, open venues, personalised",
)
async def categories(
    body: EntryBody, request: Request, state: StateDep, settings: SettingsDep, metrics: MetricsDep
) -> JsonResponse:
    """Categories ordered by the customer's affinity and the tiles' click rates."""
    return entry_points("categories", body, request, state, settings, metrics)


@router.post(
    "/v1/brands",
    response_model=BrandsResponse,
    responses=ERRORS,
    summary="Brands with deliverable, open venues, personalised",
)
async def brands(
    body: EntryBody, request: Request, state: StateDep, settings: SettingsDep, metrics: MetricsDep
) -> JsonResponse:
    """Brands ordered by the customer's past orders and the brands' click rates."""
    return entry_points("brands", body, request, state, settings, metrics)


def sections_of(
    state: ServingState, settings: Settings, served: Served, per_section: int
) -> list[dict[str, object]]:
    """The sections cut from the served ranking, in the bandit's order, with their venues."""
    config = settings.sections
    weights = served_weights(state, served, "cuisine_affinity")
    cut = SectionConfig(
        config.max_per_venue, per_section, config.new_days, config.cuisine_carousels
    )
    today = (served.request.when.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)).days
    taste = Taste(served.shown.user_id, served_factors(state.models))
    sections = build_sections(served.result.candidates, state.index, weights, today, cut, taste)
    x = exploration(settings, "sections", served)
    ordered = order_sections(sections, tile_evidence(state, settings, served), x.bandit, x.rng)
    result = served.result
    return [
        {
            "name": section.name,
            "title": section.title,
            "venues": ranked_venues(
                state, replace(result, candidates=result.candidates.take(section.rows)), per_section
            ),
        }
        for section, _ in ordered
    ]


@router.post(
    "/v1/discovery/sections",
    response_model=SectionsResponse,
    responses=ERRORS,
    summary="Discovery as carousels, in the order a hierarchical bandit learned",
)
async def discovery_sections(
    body: SectionsBody,
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> JsonResponse:
    """Order again, For you, New, Popular near you and cuisine carousels from ONE Discovery
    run; ``limit`` is the venues per section (default ``sections.venues_per_section``)."""
    served = serve_pool(state, settings, body, settings.sections.pool, "sections")
    out = sections_of(state, settings, served, body.limit or settings.sections.venues_per_section)
    payload = envelope(request, served, "sections", metrics, body.trace)
    payload.update(sections=out, scorer=served.result.scorer)
    return JsonResponse(payload)
