"""The composition root: ``create_app(settings, state)`` builds the ASGI app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse

from palate.observability.metrics import Metrics
from palate.serving import catalog_api, discovery, health, ingest
from palate.serving.errors import InvalidFieldError, on_invalid_field, on_validation_error
from palate.serving.ingestion import build_ingestor, ingest_lifespan
from palate.serving.middleware import ObservabilityMiddleware
from palate.serving.state import ServingState, load_state
from palate.settings import Settings, load_settings

DESCRIPTION = """Real-time personalisation for delivery marketplaces.

Every ranking answer carries a `request_id`; send it back with the impressions, clicks and
orders it led to."""


def create_app(settings: Settings, state: ServingState) -> FastAPI:
    """A FastAPI app serving ``state`` under ``settings``."""
    metrics = Metrics()
    # Feature write paths (order history, the online store) join this list.
    ingestor = build_ingestor(settings, state, metrics, on_accepted=[])
    app = FastAPI(
        title="Palate",
        version="0.1.0",
        description=DESCRIPTION,
        default_response_class=ORJSONResponse,
        lifespan=ingest_lifespan(ingestor),
    )
    app.state.settings = settings
    app.state.palate = state
    app.state.metrics = metrics
    app.state.ingestor = ingestor
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(InvalidFieldError, on_invalid_field)
    app.include_router(health.router)
    app.include_router(discovery.router)
    app.include_router(catalog_api.router)
    app.include_router(ingest.router)
    app.add_middleware(
        ObservabilityMiddleware, metrics=metrics, access_log=settings.server.access_log
    )
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (one per worker): settings from ``PALATE_*``."""
    settings = load_settings()
    return create_app(settings, load_state(settings))
