"""Typed dependencies that handlers declare; the app puts the objects on ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from palate.observability.metrics import Metrics
from palate.serving.state import ServingState
from palate.settings import Settings


def _state(request: Request) -> ServingState:
    state: ServingState = request.app.state.palate
    return state


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


StateDep = Annotated[ServingState, Depends(_state)]
SettingsDep = Annotated[Settings, Depends(_settings)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
