"""Category page, in-venue items and cart recommendations: the item and category premises."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

import numpy as np
import orjson
from fastapi import APIRouter, Body, HTTPException, Path, Request

from palate.catalog.item_query import ItemQuery
from palate.catalog.items_index import ItemColumns
from palate.experiments.new_venues import EXPLORED
from palate.observability.metrics import Metrics
from palate.pipeline import Candidates, PipelineResult
from palate.pipeline.candidates import FloatArray
from palate.premises.venue_items import sections
from palate.ranking.explain import explain_items
from palate.retrieval.category import CategoryRequest, resolve_category
from palate.rules.placement import SPONSORED
from palate.serving.dependencies import MetricsDep, SettingsDep, StateDep
from palate.serving.discovery import served_model_version, to_ranking_request
from palate.serving.errors import InvalidFieldError
from palate.serving.item_rows import item_row
from palate.serving.premises_schemas import (
    CART_EXAMPLE,
    CATEGORY_EXAMPLE,
    VENUE_ITEMS_EXAMPLE,
    CartRequest,
    CartResponse,
    CategoryRequestIn,
    CategoryResponse,
    VenueItemsRequest,
    VenueItemsResponse,
)
from palate.serving.responses import JsonResponse
from palate.serving.schemas import BAD_INPUT, ErrorResponse
from palate.serving.state import ServingState

router = APIRouter(tags=["premises"])
log = logging.getLogger("palate.premises")
ERRORS = BAD_INPUT

CategoryBody = Annotated[
    CategoryRequestIn, Body(openapi_examples={"pizza_evening": {"value": CATEGORY_EXAMPLE}})
]
VenueItemsBody = Annotated[
    VenueItemsRequest, Body(openapi_examples={"evening": {"value": VENUE_ITEMS_EXAMPLE}})
]
CartBody = Annotated[CartRequest, Body(openapi_examples={"pizza_cart": {"value": CART_EXAMPLE}})]


def aware(moment: datetime | None) -> datetime:
    """The request time, now when absent, UTC when it has no offset."""
    when = moment or datetime.now(UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def envelope(
    request: Request, result: PipelineResult, premise: str, metrics: Metrics, trace: bool
) -> dict[str, object]:
    """``request_id``, ``degraded``, ``scorer`` and the optional trace; counts degradations."""
    for reason in result.trace.degraded_reasons:
        metrics.degraded.labels(premise, reason).inc()
    payload: dict[str, object] = {
        "request_id": request.state.request_id,
        "degraded": result.trace.degraded,
        "scorer": result.scorer,
    }
    if trace:
        payload["trace"] = [stage.as_dict() for stage in result.trace.stages]
    return payload


def ranked_items(columns: ItemColumns, candidates: Candidates) -> list[dict[str, object]]:
    """The selected items with their menu category, price, score and sponsored mark."""
    rows = candidates.positions
    return [
        item_row(*row)
        for row in zip(
            columns.item_ids.take(rows).tolist(),
            columns.category.labels_at(rows),
            columns.price.take(rows).tolist(),
            _scores(candidates).round(6).tolist(),  # one ufunc, not a round() per item
            _sponsored(candidates),
            strict=True,
        )
    ]


def _scores(candidates: Candidates) -> FloatArray:
    return np.zeros(len(candidates)) if candidates.scores is None else candidates.scores


def _sponsored(candidates: Candidates) -> list[bool]:
    features = candidates.features
    if SPONSORED not in features:
        return [False] * len(candidates)
    marks: list[bool] = (features[SPONSORED] > 0).tolist()
    return marks


def run_items(state: ServingState, premise: str, query: ItemQuery) -> PipelineResult:
    """The item premise's result, with the admin API's latest rules."""
    if state.rule_store is not None:
        try:
            state.rule_store.refresh()
        except Exception:  # a bad rules file must not stop ranking; keep the rules we have
            log.exception("rules file unreadable")
    pipeline = state.cart if premise == "cart" else state.venue_items
    return pipeline.run(query)


def item_payload(
    state: ServingState,
    query: ItemQuery,
    result: PipelineResult,
    returned: Candidates,
    explain: bool,
) -> list[dict[str, object]] | orjson.Fragment:
    """The returned items, each with its ``explanation`` when asked for (else as JSON)."""
    if not explain:
        scores, sponsored = _scores(returned), _sponsored(returned)
        return state.item_rows.fragment(query.columns, returned.positions, scores, sponsored)
    items = ranked_items(query.columns, returned)
    explained = explain_items(result.scorer, query, returned, result.trace.stages)
    for item, explanation in zip(items, explained, strict=True):
        item["explanation"] = explanation.as_dict()
    return items


@router.post(
    "/v1/category",
    response_model=CategoryResponse,
    responses=ERRORS,
    summary="Rank the deliverable, open venues of one food category",
)
async def category_page(
    body: CategoryBody,
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> JsonResponse:
    """Discovery's personalised ranking restricted to venues listing the category."""
    category_id = resolve_category(state.catalog, body.category)
    if category_id is None:
        raise InvalidFieldError("category", f"unknown category {body.category!r}")
    base = to_ranking_request(body, settings)
    result = state.category.run(
        CategoryRequest(base.user_id, base.location, base.when, base.limit, category_id)
    )
    candidates = result.candidates
    ids = state.index.venue_ids[candidates.positions].tolist()
    scores = candidates.scores if candidates.scores is not None else np.zeros(len(candidates))
    venues: list[dict[str, object]] = [
        {"venue_id": v, "score": round(float(s), 6), "distance_m": round(float(d), 1)}
        for v, s, d in zip(
            ids, scores.tolist(), candidates.features["distance_m"].tolist(), strict=True
        )
    ]
    for row in np.flatnonzero(candidates.features.get(EXPLORED, np.zeros(len(venues))) > 0):
        venues[row]["explored"] = True
    payload = envelope(request, result, "category", metrics, body.trace)
    payload.update(
        category=category_id, venues=venues, model_version=served_model_version(result.scorer)
    )
    return JsonResponse(payload)


@router.post(
    "/v1/venues/{venue_id}/items",
    response_model=VenueItemsResponse,
    responses={**ERRORS, 404: {"model": ErrorResponse}},
    summary="Rank a venue's available items for this customer, with menu sections",
)
async def venue_items(
    venue_id: Annotated[str, Path(min_length=1, max_length=128, examples=["v7"])],
    body: VenueItemsBody,
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> JsonResponse:
    """Favourites and reorders, popularity, affinity and price fit; never a sold-out item."""
    if venue_id not in state.catalog.venues:
        raise HTTPException(404, f"unknown venue {venue_id!r}")
    limit = checked_limit(
        body.limit or settings.discovery.default_limit, settings.discovery.max_limit
    )
    query = ItemQuery.at(state.editor.items, body.user_id, venue_id, aware(body.time), limit)
    result = run_items(state, "venue_items", query)
    payload = envelope(request, result, "venue_items", metrics, body.trace)
    returned = result.candidates.take(slice(0, limit))
    payload.update(
        venue_id=venue_id,
        items=item_payload(state, query, result, returned, body.explain),
        sections=[s.as_dict() for s in sections(query.columns, result.candidates)],
    )
    return JsonResponse(payload)


def checked_limit(limit: int, maximum: int) -> int:
    """``limit`` unless it breaks the configured maximum (a 422 naming ``limit``)."""
    if limit > maximum:
        raise InvalidFieldError("limit", f"must be at most {maximum}")
    return limit


def cart_query(body: CartRequest, state: ServingState, limit: int) -> ItemQuery:
    """The cart as an item query; a line of another venue (or unknown) is a 422 naming it."""
    if body.venue_id not in state.catalog.venues:
        raise InvalidFieldError("venue_id", f"unknown venue {body.venue_id!r}")
    for i, line in enumerate(body.lines):
        item = state.catalog.items.get(line.item_id)
        if item is None or item.venue_id != body.venue_id:
            reason = "unknown item" if item is None else f"belongs to venue {item.venue_id!r}"
            raise InvalidFieldError(f"lines[{i}].item_id", f"{line.item_id!r}: {reason}")
    cart = tuple(dict.fromkeys(line.item_id for line in body.lines))
    return ItemQuery.at(
        state.editor.items, body.user_id, body.venue_id, aware(body.time), limit, cart
    )


@router.post(
    "/v1/cart/recommendations",
    response_model=CartResponse,
    responses=ERRORS,
    summary="Complementary items of the same venue for this cart",
)
async def cart_recommendations(
    body: CartBody,
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> JsonResponse:
    """Available, not already in the cart, diversified across menu categories, rules applied."""
    limit = checked_limit(body.limit, settings.discovery.max_limit)
    query = cart_query(body, state, limit)
    result = run_items(state, "cart", query)
    payload = envelope(request, result, "cart", metrics, body.trace)
    items = item_payload(state, query, result, result.candidates, body.explain)
    payload.update(venue_id=body.venue_id, items=items)
    return JsonResponse(payload)
