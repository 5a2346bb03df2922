"""The fast lane answers valid ranking requests exactly as the framework route does.

A body sent as ``application/vnd.test+json`` skips the lane (it only takes
``application/json``) yet FastAPI parses it as JSON, so the same request through both paths
can be compared on one server.
"""

from __future__ import annotations

import inspect
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from palate.catalog.store import load_catalog
from palate.domain import Catalog
from palate.serving.app import HOT_PATHS, create_app
from palate.serving.fast_lane import api_routes, lanes_of
from palate.serving.http_protocol import UVICORN_OPTIONS
from palate.serving.process import free_port
from palate.serving.state import build_state
from palate.settings import Settings
from tests.ingest.samples import impression
from tests.servers import RunningServer

pytestmark = pytest.mark.integration

WHEN = "2026-09-18T17:30:00Z"


@pytest.fixture(scope="module")
def catalog(simulated_dir: Path) -> Catalog:
    return load_catalog(simulated_dir / "catalog")


def _post(server: RunningServer, path: str, body: dict[str, Any], *, lane: bool) -> Any:
    kind = "application/json" if lane else "application/vnd.test+json"
    headers = {"content-type": kind}
    with server.client() as client:
        return client.post(path, content=orjson.dumps(body), headers=headers)


def _without_request_id(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "request_id"}


def _bodies(catalog: Catalog) -> list[tuple[str, dict[str, Any]]]:
    centre = next(iter(catalog.cities.values())).center
    where = {"lat": centre.lat, "lon": centre.lon}
    user = sorted(catalog.customers)[0]
    venue = max(catalog.venues, key=lambda v: len(catalog.items_of(v)))
    lines = [{"item_id": i.id, "quantity": 1} for i in catalog.items_of(venue)[:1]]
    located = {"user_id": user, "location": where, "time": WHEN}
    return [
        ("/v1/discovery", located | {"limit": 20}),
        (f"/v1/venues/{venue}/items", {"user_id": user, "time": WHEN}),
        ("/v1/cart/recommendations", {"user_id": user, "venue_id": venue, "lines": lines}),
        ("/v1/banners", located),
    ]


def test_lane_and_framework_give_the_same_answer(server: RunningServer, catalog: Catalog) -> None:
    for path, body in _bodies(catalog):
        if path.startswith("/v1/cart"):
            body = body | {"time": WHEN}
        fast = _post(server, path, body, lane=True)
        slow = _post(server, path, body, lane=False)
        assert fast.status_code == slow.status_code == 200, (path, fast.text, slow.text)
        assert fast.headers["x-request-id"] != slow.headers["x-request-id"]
        assert _without_request_id(fast.json()) == _without_request_id(slow.json()), path


def test_invalid_bodies_get_the_frameworks_error_naming_the_field(server: RunningServer) -> None:
    body = {"user_id": "u1", "location": {"lat": 123.0, "lon": 24.9}}
    response = _post(server, "/v1/discovery", body, lane=True)
    assert response.status_code == 422
    assert "location.lat" in response.text
    response = _post(
        server,
        "/v1/discovery",
        body | {"location": {"lat": 60.1, "lon": 24.9}, "limit": 10**6},
        lane=True,
    )
    assert response.status_code == 422  # the handler's own check, answered by the framework
    assert "limit" in response.text


def test_lane_requests_are_counted_under_their_route(
    server: RunningServer, catalog: Catalog
) -> None:
    venue = max(catalog.venues, key=lambda v: len(catalog.items_of(v)))
    path = f"/v1/venues/{venue}/items"
    before = _served(server, "/v1/venues/{venue_id}/items")
    assert _post(server, path, {"user_id": "u1", "time": WHEN}, lane=True).status_code == 200
    assert _served(server, "/v1/venues/{venue_id}/items") == before + 1


def _served(server: RunningServer, endpoint: str) -> float:
    """How many 200s to POST requests the metrics have counted under ``endpoint``."""
    with server.client() as client:
        text = client.get("/metrics").text
    pattern = (
        rf'palate_request_duration_seconds_count\{{endpoint="{re.escape(endpoint)}",'
        r'method="POST",status="200"\} ([0-9.e+]+)'
    )
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def test_every_hot_route_has_a_lane(simulated_dir: Path) -> None:
    settings = Settings(data={"dir": simulated_dir})
    app = create_app(settings, build_state(load_catalog(simulated_dir / "catalog"), settings))
    lanes = lanes_of(app, HOT_PATHS)
    assert sorted(lane.route.path for lane in lanes) == sorted(HOT_PATHS)
    items = next(lane for lane in lanes if "{venue_id}" in lane.route.path)
    found = items.pattern.fullmatch("/v1/venues/v-7/items")
    assert found is not None
    assert found["venue_id"] == "v-7"
    assert items.pattern.fullmatch("/v1/venues/a/b/items") is None


def test_no_route_hands_a_dependency_to_the_thread_pool(simulated_dir: Path) -> None:
    """FastAPI runs a plain ``def`` dependency on its thread pool: a thread hand-off per
    dependency per request, for what is an attribute read (the routes outside the lane pay it,
    e.g. ``/v1/events`` with its settings and ingestor)."""
    settings = Settings(data={"dir": simulated_dir})
    app = create_app(settings, build_state(load_catalog(simulated_dir / "catalog"), settings))
    checked: set[str] = set()
    for route in api_routes(app.routes):
        pending = list(route.dependant.dependencies)
        while pending:
            dependency = pending.pop()
            pending.extend(dependency.dependencies)
            call = dependency.call
            if call is None or getattr(call, "__module__", "").split(".")[0] != "palate":
                continue  # FastAPI's own (security schemes …) are its business
            checked.add(call.__qualname__)
            assert inspect.iscoroutinefunction(call), (route.path, call.__qualname__)
    assert {"_state", "_settings", "_ingestor", "require_admin"} <= checked


def _post_raw(server: RunningServer, path: str, content: bytes, *, lane: bool) -> Any:
    kind = "application/json" if lane else "application/vnd.test+json"
    with server.client() as client:
        return client.post(path, content=content, headers={"content-type": kind})


def test_events_answer_the_same_through_the_lane_and_the_framework(server: RunningServer) -> None:
    first, second = impression(), impression()
    batch = {"events": [first, {"type": "impression", "event_id": "no-user"}, first]}
    fast = _post_raw(server, "/v1/events", orjson.dumps(batch), lane=True)
    slow = _post_raw(server, "/v1/events", orjson.dumps(batch), lane=False)
    assert fast.status_code == slow.status_code == 200
    statuses = [r["status"] for r in fast.json()["results"]]
    assert statuses == ["accepted", "rejected", "duplicate"]
    assert [r["status"] for r in slow.json()["results"]] == ["duplicate", "rejected", "duplicate"]
    assert fast.json()["results"][1] == slow.json()["results"][1]  # the same field errors
    for content in (b"{not json", orjson.dumps({"events": 3}), orjson.dumps({"more": []})):
        fast = _post_raw(server, "/v1/events", content, lane=True)
        slow = _post_raw(server, "/v1/events", content, lane=False)
        assert fast.status_code == slow.status_code
        assert fast.status_code in {400, 422}
        assert fast.json() == slow.json()
    waited = _post_raw(
        server, "/v1/events?wait_applied=true", orjson.dumps({"events": [second]}), lane=True
    )
    assert waited.json()["accepted"] == 1
    odd = _post_raw(
        server, "/v1/events?wait_applied=maybe", orjson.dumps({"events": []}), lane=True
    )
    assert odd.status_code == 422  # an unusual query goes to the framework, which names it
    assert "wait_applied" in odd.text


def test_events_in_the_lane_are_counted_under_their_route(server: RunningServer) -> None:
    before = _served(server, "/v1/events")
    content = orjson.dumps({"events": [impression()]})
    assert _post_raw(server, "/v1/events", content, lane=True).status_code == 200
    assert _served(server, "/v1/events") == before + 1


class _Counting:
    """A pure ASGI middleware in the framework's own stack: counts what reaches it."""

    def __init__(self, app: Any, paths: list[str]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


def test_lane_requests_never_enter_the_frameworks_middleware_stack(
    simulated_dir: Path, catalog: Catalog
) -> None:
    """The lane sits in front of FastAPI: a valid ranking request skips the framework's error,
    telemetry and body-limit layers; what the lane passes on goes through all of them."""
    settings = Settings(data={"dir": simulated_dir})
    app = create_app(settings, build_state(catalog, settings))
    reached: list[str] = []
    app.add_middleware(_Counting, paths=reached)
    port = free_port()
    config = uvicorn.Config(app, port=port, lifespan="off", log_config=None, **UVICORN_OPTIONS)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as client:
            _wait_until_up(client)
            path, body = _bodies(catalog)[0]
            valid = client.post(path, content=orjson.dumps(body), headers=JSON)
            invalid = client.post(path, content=b'{"user_id": "u1"}', headers=JSON)
            health = client.get("/healthz")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert valid.status_code == 200
    assert valid.headers["x-request-id"]
    assert invalid.status_code == 422
    assert "location" in invalid.text
    assert invalid.headers["x-request-id"]
    assert health.status_code == 200
    assert reached.count(path) == 1  # only the invalid body, which the framework answered
    assert "/healthz" in reached


JSON = {"content-type": "application/json"}


def _wait_until_up(client: httpx.Client, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.get("/healthz")
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
