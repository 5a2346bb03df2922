"""``POST /v1/events`` and ``GET /v1/events/stats``.

The body is read and parsed here rather than by a FastAPI body model: a model would reject
the whole batch for one bad event, and its per-request overhead matters at 1,000 events a
request. The Ingestor validates each event on its own.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope

from palate.serving.dependencies import SettingsDep
from palate.serving.fast_lane import BodyTooLargeError, RawLane, read_body
from palate.serving.ingest_report import IngestUnavailableError
from palate.serving.ingestion import Ingestor
from palate.serving.schemas import ErrorResponse
from palate.settings import Settings

router = APIRouter(tags=["events"])

EVENTS_EXAMPLE: dict[str, Any] = {
    "events": [
        {
            "type": "impression",
            "event_id": "3f0b6c1e-0001",
            "user_id": "u42",
            "ts": "2026-09-18T17:30:05+03:00",
            "location": {"lat": 60.1699, "lon": 24.9384},
            "request_id": "9c1d0e7f5a",
            "premise": "discovery",
            "entity_kind": "venue",
            "entity_id": "v17",
            "position": 0,
        },
        {
            "type": "click",
            "event_id": "3f0b6c1e-0002",
            "user_id": "u42",
            "ts": "2026-09-18T17:30:09+03:00",
            "request_id": "9c1d0e7f5a",
            "entity_kind": "venue",
            "entity_id": "v17",
        },
        {
            "type": "add_to_cart",
            "event_id": "3f0b6c1e-0003",
            "user_id": "u42",
            "ts": "2026-09-18T17:31:00+03:00",
            "venue_id": "v17",
            "item_id": "i301",
            "quantity": 2,
        },
        {
            "type": "order",
            "event_id": "3f0b6c1e-0004",
            "user_id": "u42",
            "ts": "2026-09-18T17:33:40+03:00",
            "order_id": "o9001",
            "venue_id": "v17",
            "total": 24.8,
            "lines": [{"item_id": "i301", "quantity": 2, "unit_price": 12.4}],
        },
    ]
}

_REQUEST_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            '`{"events": [...]}`, at most `ingest.max_batch` events. Each event has `type` '
            "(impression | click | add_to_cart | order), `event_id`, `user_id`, `ts` "
            "(ISO 8601 with a UTC offset), an optional `location` {lat, lon}, and the fields "
            "of its type; unknown fields are rejected."
        ),
        "content": {"application/json": {"example": EVENTS_EXAMPLE}},
    }
}


class EventResult(BaseModel):
    """What happened to one event; ``reason`` names the offending field when rejected."""

    event_id: str | None
    status: str = Field(description="accepted | duplicate | rejected")
    reason: str | None = None
    fields: list[dict[str, str]] | None = None


class IngestResponse(BaseModel):
    """One result per event, in request order, and the totals."""

    results: list[EventResult]
    accepted: int
    duplicates: int
    rejected: int


async def _ingestor(request: Request) -> Ingestor:  # async: no thread hand-off
    ingestor: Ingestor = request.app.state.ingestor
    return ingestor


IngestorDep = Annotated[Ingestor, Depends(_ingestor)]
WaitApplied = Annotated[
    bool | None,
    Query(
        description=(
            "Reply only once the accepted events are applied to the features (memory mode); "
            "default `ingest.read_your_writes`"
        )
    ),
]


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _error(status: int, message: str, field: str | None = None) -> Response:
    fields = [] if field is None else [{"field": field, "message": message}]
    return _json({"error": message, "fields": fields}, status)


async def _read_limited(receive: Receive, declared: str, limit: int) -> bytes:
    """The whole body, refused (``BodyTooLargeError``) on its declared length or while read."""
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    return await read_body(receive, limit)


def _too_large(settings: Settings) -> Response:
    limit = settings.ingest.max_body_bytes
    return _error(413, f"body larger than {limit} bytes (ingest.max_body_bytes)")


def _events_of(payload: object) -> list[object] | Response:
    """The ``events`` list, or the 422 for a body of the wrong shape."""
    if not isinstance(payload, dict):
        return _error(422, "the body must be a JSON object with an events list", "body")
    unknown = sorted(set(payload) - {"events"})
    if unknown:
        return _error(422, "unknown field", unknown[0])
    events = payload.get("events")
    if not isinstance(events, list):
        return _error(422, "required, a list of events", "events")
    return events


@router.post(
    "/v1/events",
    response_model=IngestResponse,
    responses={
        400: {"model": ErrorResponse, "description": "The body is not JSON"},
        413: {"model": ErrorResponse, "description": "Too many events or too many bytes"},
        422: {"model": ErrorResponse, "description": 'The body is not {"events": [...]}'},
        503: {"model": ErrorResponse, "description": "Nothing accepted; retry the batch"},
    },
    openapi_extra=_REQUEST_DOC,
    summary="Ingest a batch of behaviour events",
)
async def post_events(
    request: Request, settings: SettingsDep, ingestor: IngestorDep, wait_applied: WaitApplied = None
) -> Response:
    """Validate each event on its own; accepted events are durable before this replies.

    Sending a batch again is safe: events already accepted come back ``duplicate``. Accepted
    events reach the features before the reply when ``wait_applied`` (default
    ``ingest.read_your_writes``) holds, otherwise within ``ingest.apply_interval_s`` after it.
    """
    declared = request.headers.get("content-length", "")
    try:
        body = await _read_limited(request.receive, declared, settings.ingest.max_body_bytes)
    except BodyTooLargeError:
        return _too_large(settings)
    return await answer_events(body, settings, ingestor, wait_applied)


async def answer_events(
    body: bytes, settings: Settings, ingestor: Ingestor, wait_applied: bool | None
) -> Response:
    """The reply to a read ``POST /v1/events`` body (the route's and the fast lane's)."""
    limits = settings.ingest
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _error(400, "malformed JSON body")
    events = _events_of(payload)
    if isinstance(events, Response):
        return events
    if len(events) > limits.max_batch:
        message = f"{len(events)} events; at most {limits.max_batch} per request (ingest.max_batch)"
        return _error(413, message, "events")
    try:
        # Durable in a worker thread; the wait for the features below holds no thread.
        report = await run_in_threadpool(ingestor.ingest, events, False)
    except IngestUnavailableError as error:
        return _error(503, str(error))
    if ingestor.read_your_writes if wait_applied is None else wait_applied:
        await ingestor.applied(report)
    return _json(report.as_dict())


_LANE_QUERIES = {b"": None, b"wait_applied=true": True, b"wait_applied=false": False}


def _lane_takes(scope: Scope) -> bool:
    """The fast lane takes the usual query strings; anything else gets FastAPI's parsing."""
    return scope.get("query_string", b"") in _LANE_QUERIES


async def _lane_answer(scope: Scope, receive: Receive, app_state: Any) -> Response:
    settings: Settings = app_state.settings
    declared = dict(scope.get("headers", ())).get(b"content-length", b"").decode("latin-1")
    try:
        body = await _read_limited(receive, declared, settings.ingest.max_body_bytes)
    except BodyTooLargeError:
        return _too_large(settings)
    wait = _LANE_QUERIES[scope.get("query_string", b"")]
    return await answer_events(body, settings, app_state.ingestor, wait)


EVENTS_LANE = RawLane("/v1/events", _lane_takes, _lane_answer)
"""``POST /v1/events`` in the fast lane: the route's own reply without FastAPI's routing and
dependency resolution, which cost more than validating and logging a single event."""


@router.get("/v1/events/stats", summary="What this process has ingested and applied")
async def event_stats(ingestor: IngestorDep) -> dict[str, Any]:
    """Counts since start, the write-ahead log lane, and the Redis stream when used."""
    return await run_in_threadpool(ingestor.stats)
