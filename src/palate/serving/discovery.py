"""``POST /v1/discovery``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body, Request

from palate.domain.geo import Location
from palate.domain.requests import RankingRequest
from palate.experiments.new_venues import EXPLORED
from palate.pipeline import Candidates, PipelineResult, StageTrace, Trace
from palate.premises.discovery import proximity_pipeline
from palate.ranking.explain import explain
from palate.ranking.heuristic import popularity_peak, weights_from
from palate.ranking.learned import served_model
from palate.rules.placement import SPONSORED
from palate.serving.dependencies import MetricsDep, SettingsDep, StateDep
from palate.serving.errors import InvalidFieldError
from palate.serving.responses import JsonResponse
from palate.serving.schemas import (
    DISCOVERY_EXAMPLE,
    DiscoveryRequest,
    DiscoveryResponse,
    ErrorResponse,
)
from palate.serving.state import ServingState
from palate.settings import Settings

router = APIRouter(tags=["premises"])
log = logging.getLogger("palate.discovery")


def served_model_version(scorer: str) -> str | None:
    """The registry version that ranked this request, when the learned scorer did."""
    if scorer != "learned":
        return None
    version = served_model()
    return None if version is None else version.version


def to_ranking_request(body: DiscoveryRequest, settings: Settings) -> RankingRequest:
    """Defaults filled in and configured limits enforced."""
    limit = body.limit or settings.discovery.default_limit
    if limit > settings.discovery.max_limit:
        raise InvalidFieldError("limit", f"must be at most {settings.discovery.max_limit}")
    when = body.time or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return RankingRequest(
        user_id=body.user_id,
        location=Location(body.location.lat, body.location.lon),
        when=when,
        limit=limit,
    )


DiscoveryBody = Annotated[
    DiscoveryRequest, Body(openapi_examples={"evening": {"value": DISCOVERY_EXAMPLE}})
]


@router.post(
    "/v1/discovery",
    response_model=DiscoveryResponse,
    responses={422: {"model": ErrorResponse}, 400: {"model": ErrorResponse}},
    summary="Rank the venues that deliver here and are open now",
)
async def discovery(
    body: DiscoveryBody,
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> JsonResponse:
    """Deliverable, open venues for this customer, best first.

    Never a 5xx for a valid request: if the pipeline fails even after its scorer chain and the
    last good result, plain proximity answers (or an empty list), marked ``degraded``.
    """
    ranking_request = to_ranking_request(body, settings)
    result = run_discovery(state, settings, ranking_request)
    for reason in result.trace.degraded_reasons:
        metrics.degraded.labels("discovery", reason).inc()
    for stage in result.trace.stages:
        if stage.over_budget:
            metrics.over_budget.labels("discovery", stage.stage).inc()
    venues = ranked_venues(state, result, ranking_request.limit)
    if body.explain:
        attach_explanations(venues, settings, result, ranking_request.limit)
    payload: dict[str, object] = {
        "request_id": request.state.request_id,
        "venues": venues,
        "degraded": result.trace.degraded,
        "scorer": result.scorer,
        "model_version": served_model_version(result.scorer),
    }
    if body.trace:
        payload["trace"] = [stage.as_dict() for stage in result.trace.stages]
    return JsonResponse(payload)


def run_discovery(
    state: ServingState,
    settings: Settings,
    request: RankingRequest,
    also_read: Callable[[Any], None] | None = None,
) -> PipelineResult:
    """The pipeline's result, or the proximity fallback's when the pipeline raised;
    ``also_read`` adds the caller's reads to the pipeline's shared read (see ``Pipeline.run``)."""
    if state.rule_store is not None:
        try:
            state.rule_store.refresh()
        except Exception:  # a bad rules file must not stop ranking; keep the rules we have
            log.exception("rules file unreadable")
    try:
        return state.discovery.run(request, also_read)
    except Exception as exc:
        log.warning("discovery pipeline failed: %r", exc)
        failed = StageTrace(
            stage="pipeline",
            kind="fallback",
            duration_us=0.0,
            count_in=0,
            count_out=0,
            error=type(exc).__name__,
            details={"cause": str(exc)[:200]},
        )
    fallback = proximity_pipeline(
        state.index,
        state.editor,
        weights_from(settings.heuristic),
        state.business_rules,
        state.catalog.cities,
    )
    try:
        result = fallback.run(request)
    except Exception as exc:  # nothing left to rank with: an empty, degraded answer
        log.warning("discovery fallback failed: %r", exc)
        empty = Trace([failed, replace(failed, stage="proximity_fallback")])
        return PipelineResult(Candidates.empty(), empty, "none")
    result.trace.stages.insert(0, failed)
    return PipelineResult(result.candidates, result.trace, "proximity_fallback")


def ranked_venues(
    state: ServingState, result: PipelineResult, limit: int
) -> list[dict[str, object]]:
    """The response's venues: id, score, distance, and ``sponsored`` on reserved slots."""
    ranked = result.candidates
    count = min(limit, len(ranked))
    if not count:
        return []
    # The first rows of whole columns: cheaper than a view of the first rows of every column.
    features = ranked.features
    ids = state.index.venue_ids.take(ranked.positions[:count])
    scores = np.zeros(count) if ranked.scores is None else ranked.scores[:count]
    distances = features["distance_m"][:count] if "distance_m" in features else np.zeros(count)
    # Rounded as arrays, by the array's own method: one call instead of a round() per venue.
    venues: list[dict[str, object]] = [
        {"venue_id": v, "score": s, "distance_m": d}
        for v, s, d in zip(
            ids.tolist(), scores.round(6).tolist(), distances.round(1).tolist(), strict=True
        )
    ]
    for flag in (SPONSORED, EXPLORED):  # marks only where a stage set them
        if flag in features:
            for row in np.flatnonzero(features[flag][:count] > 0).tolist():
                venues[row][flag] = True
    return venues


def attach_explanations(
    venues: list[dict[str, object]], settings: Settings, result: PipelineResult, limit: int
) -> None:
    """Add each returned venue's ``explanation`` (only the returned top ``limit`` are explained)."""
    returned = result.candidates.take(slice(0, limit))
    explanations = explain(
        result.scorer,
        returned,
        [str(venue["venue_id"]) for venue in venues],
        result.trace.stages,
        model=served_model() if result.scorer == "learned" else None,
        weights=weights_from(settings.heuristic),
        peak=popularity_peak(result.candidates) if result.scorer == "heuristic" else 0.0,
    )
    for venue, explanation in zip(venues, explanations, strict=True):
        venue["explanation"] = explanation.as_dict()
