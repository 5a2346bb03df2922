"""Typed dependencies that handlers declare; the app puts the objects on ``app.state``.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency on its thread pool,
and a thread hand-off per dependency per request cost more than most handlers' own work.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from palate.observability.metrics import Metrics
from palate.serving.state import ServingState
from palate.settings import Settings


async def _state(request: Request) -> ServingState:
    state: ServingState = request.app.state.palate
    return state


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


StateDep = Annotated[ServingState, Depends(_state)]
SettingsDep = Annotated[Settings, Depends(_settings)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
