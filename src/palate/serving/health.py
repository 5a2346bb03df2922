"""Liveness, readiness and metrics."""

from __future__ import annotations

import os

from fastapi import APIRouter, Response

from palate.serving.dependencies import MetricsDep, StateDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Always ``ok`` while the event loop runs."""
    return {"status": "ok"}


@router.get("/readyz", summary="The catalog and features are loaded")
async def readyz(state: StateDep) -> dict[str, object]:
    """Ready once the serving state is built; reports what it holds."""
    return {
        "status": "ready",
        "venues": len(state.index.venue_ids),
        "items": len(state.catalog.items),
        "model": state.models.version,
        "pid": os.getpid(),  # which worker answered, where several share the port
    }


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(registry: MetricsDep) -> Response:
    """The text exposition format."""
    return Response(registry.render(), media_type="text/plain; version=0.0.4")
