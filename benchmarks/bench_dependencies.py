"""What a route's dependencies cost per request: ``def`` (thread pool) versus ``async def``.

Run with ``pytest benchmarks/bench_dependencies.py -m benchmark -s``. FastAPI runs a plain
``def`` dependency on its thread pool, so a route declaring the app's settings and a service
(as ``POST /v1/events`` does) pays two thread hand-offs per request for two attribute reads.
Two otherwise identical apps are driven through ASGI in one process, alternately, and the
process CPU per request is printed with the ratio — the reason ``palate.serving.dependencies``
declares its dependencies ``async def`` (``tests/serving/test_fast_lane.py`` keeps them so).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import pytest
import uvloop
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

REQUESTS = 3_000
ROUNDS = 3


def _settings(request: Request) -> Any:
    return request.app.state.settings


def _service(request: Request) -> Any:
    return request.app.state.service


async def _settings_async(request: Request) -> Any:
    return request.app.state.settings


async def _service_async(request: Request) -> Any:
    return request.app.state.service


SettingsOnPool = Annotated[Any, Depends(_settings)]
ServiceOnPool = Annotated[Any, Depends(_service)]
SettingsInline = Annotated[Any, Depends(_settings_async)]
ServiceInline = Annotated[Any, Depends(_service_async)]


def _answer(settings: Any, service: Any) -> Response:
    return Response(b"{}" if settings is not service else b"", media_type="application/json")


def _app(async_dependencies: bool) -> FastAPI:
    app = FastAPI()
    app.state.settings, app.state.service = object(), object()
    if async_dependencies:

        @app.post("/v1/events")
        async def inline(settings: SettingsInline, service: ServiceInline) -> Response:
            return _answer(settings, service)

    else:

        @app.post("/v1/events")
        async def on_pool(settings: SettingsOnPool, service: ServiceOnPool) -> Response:
            return _answer(settings, service)

    return app


async def _cpu_us_per_request(app: FastAPI, count: int) -> float:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/events",
        "raw_path": b"/v1/events",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def one() -> None:
        await app(dict(scope), receive, send)

    await _repeat(one, 200)  # warm up: route compiled, thread pool started
    started = time.process_time()  # the whole process: pool threads included
    await _repeat(one, count)
    spent = time.process_time() - started
    assert set(statuses) == {200}
    return spent / count * 1e6


async def _repeat(call: Callable[[], Awaitable[None]], count: int) -> None:
    for _ in range(count):
        await call()


@pytest.mark.benchmark
def test_async_dependencies_skip_the_thread_pool() -> None:
    figures: dict[str, list[float]] = {"def": [], "async def": []}
    for _ in range(ROUNDS):  # alternating, so drift on a shared machine hits both alike
        figures["def"].append(uvloop.run(_cpu_us_per_request(_app(False), REQUESTS)))
        figures["async def"].append(uvloop.run(_cpu_us_per_request(_app(True), REQUESTS)))
    best = {kind: min(values) for kind, values in figures.items()}
    print(
        f"\nroute with 2 dependencies, CPU per request (best of {ROUNDS}): "
        f"def {best['def']:.1f} µs, async def {best['async def']:.1f} µs, "
        f"ratio {best['def'] / best['async def']:.2f}×"
    )
    assert best["async def"] < best["def"]
