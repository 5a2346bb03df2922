"""``POST /v1/discovery``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Body, Request
from fastapi.responses import ORJSONResponse

from palate.domain.geo import Location
from palate.domain.requests import RankingRequest
from palate.ranking.learned import served_model
from palate.serving.dependencies import MetricsDep, SettingsDep, StateDep
from palate.serving.errors import InvalidFieldError
from palate.serving.schemas import (
    DISCOVERY_EXAMPLE,
    DiscoveryRequest,
    DiscoveryResponse,
    ErrorResponse,
)
from palate.settings import Settings

router = APIRouter(tags=["premises"])


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
) -> ORJSONResponse:
    """Deliverable, open venues for this customer, best first."""
    ranking_request = to_ranking_request(body, settings)
    result = state.discovery.run(ranking_request)
    candidates = result.candidates
    ids = state.index.venue_ids[candidates.positions]
    scores = candidates.scores if candidates.scores is not None else np.zeros(len(candidates))
    distances = candidates.features["distance_m"]
    venues = [
        {"venue_id": v, "score": round(float(s), 6), "distance_m": round(float(d), 1)}
        for v, s, d in zip(ids.tolist(), scores.tolist(), distances.tolist(), strict=True)
    ]
    for reason in result.trace.degraded_reasons:
        metrics.degraded.labels("discovery", reason).inc()
    payload: dict[str, object] = {
        "request_id": request.state.request_id,
        "venues": venues,
        "degraded": result.trace.degraded,
        "scorer": result.scorer,
        "model_version": served_model_version(result.scorer),
    }
    if body.trace:
        payload["trace"] = [stage.as_dict() for stage in result.trace.stages]
    return ORJSONResponse(payload)
