"""Run the app under uvicorn, with the demo's banner of URLs."""

from __future__ import annotations

import os

import orjson
import typer
import uvicorn

from palate.observability.logging import configure_logging
from palate.serving.app import create_app
from palate.serving.http_protocol import UVICORN_OPTIONS
from palate.serving.state import ServingState, load_state
from palate.serving.workers import Supervisor
from palate.settings import Settings

APP_FACTORY = "palate.serving.app:app_from_environment"


def banner(settings: Settings, state: ServingState) -> str:
    """The URLs and a sample request a new user can paste."""
    base = f"http://{settings.server.host}:{settings.server.port}"
    city = next(iter(state.catalog.cities.values()))
    user = next(iter(state.catalog.customers), "u1")
    body = orjson.dumps(
        {"user_id": user, "location": {"lat": city.center.lat, "lon": city.center.lon}, "limit": 5}
    ).decode()
    return "\n".join(
        [
            f"Palate is serving {len(state.index.venue_ids)} venues of {city.name}.",
            f"  API docs     {base}/docs",
            f"  OpenAPI      {base}/openapi.json",
            f"  Metrics      {base}/metrics",
            "Try:",
            f"  curl -s -X POST {base}/v1/discovery \\\n"
            f"       -H 'content-type: application/json' -d '{body}'",
        ]
    )


def run_server(settings: Settings, show_banner: bool = False) -> None:
    """Serve until interrupted; several workers each load the state themselves."""
    configure_logging(settings.log_level)
    server = settings.server
    if server.workers > 1:
        os.environ["PALATE_DATA__DIR"] = str(settings.data.dir)
        supervisor = Supervisor(server.host, server.port, server.workers, APP_FACTORY)
        raise SystemExit(supervisor.run())
    state = load_state(settings)
    if show_banner:
        typer.echo(banner(settings, state))
    app = create_app(settings, state)
    uvicorn.run(app, host=server.host, port=server.port, log_config=None, **UVICORN_OPTIONS)
