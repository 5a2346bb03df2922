"""Request and response bodies of the public HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DISCOVERY_EXAMPLE: dict[str, Any] = {
    "user_id": "u42",
    "location": {"lat": 60.1699, "lon": 24.9384},
    "time": "2026-09-18T17:30:00Z",
    "limit": 20,
}


class LocationIn(BaseModel):
    """A WGS84 point."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90.0, le=90.0, description="Latitude in degrees")
    lon: float = Field(ge=-180.0, le=180.0, description="Longitude in degrees")


class DiscoveryRequest(BaseModel):
    """Who is asking, where they want delivery and when (default: now)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [DISCOVERY_EXAMPLE]})

    user_id: str = Field(min_length=1, max_length=128)
    location: LocationIn
    time: datetime | None = Field(
        default=None, description="ISO 8601; without an offset it is taken as UTC"
    )
    limit: int | None = Field(default=None, ge=1, description="How many venues (default 50)")
    trace: bool = Field(default=False, description="Include the per-stage trace")
    explain: bool = Field(
        default=False, description="Explain each returned venue: feature contributions, rules"
    )


class Explanation(BaseModel):
    """Why a venue ranks where it does (only with ``"explain": true``)."""

    scorer: str = Field(description="The scorer that ranked the request")
    base: float = Field(description="The model's expected value (learned) or 0 (heuristic)")
    contributions: dict[str, float] = Field(
        description="Per feature (learned: TreeSHAP) or per term (heuristic); "
        "base + their sum is the scorer's raw score, before any rule moved it"
    )
    rules: list[str] = Field(description="Ids of the rules that moved, placed or marked it")


class RankedVenue(BaseModel):
    """One venue of the ranking."""

    venue_id: str
    score: float
    distance_m: float
    sponsored: bool = Field(default=False, description="Placed by a sponsored-slot rule")
    explored: bool = Field(
        default=False, description="A new venue given a slot by exploration (Thompson sampling)"
    )
    explanation: Explanation | None = None


class StageOut(BaseModel):
    """What one pipeline stage did."""

    stage: str
    kind: str
    duration_us: float
    count_in: int = Field(alias="in")
    count_out: int = Field(alias="out")
    error: str | None
    over_budget: bool
    skipped: bool = False
    details: dict[str, Any] | None = Field(
        default=None, description="What a rule stage removed or moved, e.g. moved: [[id, from, to]]"
    )


class DiscoveryResponse(BaseModel):
    """The ranking, the request id to send back with events, and whether a fallback served it."""

    request_id: str
    venues: list[RankedVenue]
    degraded: bool = False
    scorer: str
    model_version: str | None = None
    trace: list[StageOut] | None = None


class FieldProblem(BaseModel):
    """One invalid field of a request."""

    field: str
    message: str


class ErrorResponse(BaseModel):
    """A 4xx answer that names what was wrong."""

    error: str
    fields: list[FieldProblem] = []


# The error responses every ranking route documents (a bad body, a field out of range).
BAD_INPUT: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}
