"""The composition root: ``create_app(settings, state)`` builds the ASGI app."""

from __future__ import annotations

import asyncio
import functools
import gc
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from palate.observability.metrics import Metrics
from palate.ranking.hot_swap import ModelWatcher
from palate.ranking.learned import load_model
from palate.ranking.model_store import FileModelStore
from palate.serving import (
    catalog_api,
    discovery,
    entry_points_api,
    health,
    ingest,
    premises_api,
    rules_api,
)
from palate.serving.errors import InvalidFieldError, on_invalid_field, on_validation_error
from palate.serving.fast_lane import FastLane, FrontedFastAPI
from palate.serving.ingestion import Ingestor, build_ingestor
from palate.serving.middleware import ObservabilityMiddleware
from palate.serving.responses import JsonResponse
from palate.serving.state import ServingState, load_state
from palate.serving.web import mount as mount_web_ui
from palate.settings import Settings, load_settings

DESCRIPTION = """Real-time personalisation for delivery marketplaces.

Every ranking answer carries a `request_id`; send it back with the impressions, clicks and
orders it led to."""


# The ranking routes whose valid requests skip the framework's per-request machinery.
HOT_PATHS = (
    "/v1/discovery",
    "/v1/category",
    "/v1/venues/{venue_id}/items",
    "/v1/cart/recommendations",
    "/v1/banners",
    "/v1/categories",
    "/v1/brands",
)


def create_app(settings: Settings, state: ServingState) -> FastAPI:
    """A FastAPI app serving ``state`` under ``settings``."""
    metrics = Metrics()
    # Accepted events update the online features before the reply (memory) or via the stream.
    ingestor = build_ingestor(
        settings,
        state,
        metrics,
        on_accepted=[feature_writer(state), entry_points_api.engagement_writer(state, settings)],
    )
    app = FrontedFastAPI(
        title="Palate",
        version="0.1.0",
        description=DESCRIPTION,
        default_response_class=JsonResponse,
        lifespan=serving_lifespan(settings, state, ingestor),
    )
    app.state.settings = settings
    app.state.palate = state
    app.state.metrics = metrics
    app.state.ingestor = ingestor
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(InvalidFieldError, on_invalid_field)
    app.include_router(health.router)
    app.include_router(discovery.router)
    app.include_router(premises_api.router)
    app.include_router(entry_points_api.router)
    app.include_router(catalog_api.router)
    app.include_router(rules_api.router)
    app.include_router(ingest.router)
    mount_web_ui(app)
    raw_lanes = (ingest.EVENTS_LANE,)
    lane = FastLane(app.framework, fastapi=app, paths=HOT_PATHS, raw=raw_lanes)
    app.front = ObservabilityMiddleware(
        lane, metrics=metrics, access_log=settings.server.access_log
    )
    return app


def feature_writer(state: ServingState) -> Callable[[Any], None]:
    """The online features' write path as an ingestion callback."""

    def write(events: Any) -> None:
        state.features.ingest(events)

    return write


def model_watcher(settings: Settings, state: ServingState) -> ModelWatcher:
    """Polls the registry and hot-swaps promoted Discovery models into ``state.models``."""
    ranker = settings.ranker
    return ModelWatcher(
        FileModelStore.in_data_dir(settings.data.dir),
        ranker.model_name,
        state.models,
        interval_s=ranker.poll_interval_s,
        loader=functools.partial(load_model, compiled=ranker.compiled),
    )


def serving_lifespan(
    settings: Settings, state: ServingState, ingestor: Ingestor
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """Recover ingestion and load the current model before serving; stop both after."""

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        watcher = model_watcher(settings, state)
        await asyncio.to_thread(ingestor.start)
        await asyncio.to_thread(watcher.poll)
        watcher.start()
        if state.broadcast is not None:
            state.broadcast.start(state.apply_remote_change)
        # The catalog, indexes, features and model loaded above live as long as the process;
        # frozen, they are never traversed again by the cyclic GC, whose full collections
        # over them were the p99 spikes (tens of ms) under load.
        gc.collect()
        gc.freeze()
        # Background threads (frame rebuilds, ingestion) hold the GIL up to this long before
        # a request waiting on it runs; Python's 5 ms default showed up in the p99.
        sys.setswitchinterval(settings.server.gil_switch_interval_ms / 1_000)
        try:
            yield
        finally:
            if state.broadcast is not None:
                state.broadcast.stop()
            watcher.stop()
            await asyncio.to_thread(ingestor.stop)
            await asyncio.to_thread(state.editor.checkpoint)
            state.changelog.truncate()

    return lifespan


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (one per worker): settings from ``PALATE_*``."""
    settings = load_settings()
    return create_app(settings, load_state(settings))
