"""The fast lane: the ranking endpoints without the framework's per-request machinery.

Profiling Discovery under load showed a fifth of the server's CPU in FastAPI's routing,
dependency resolution and JSON-then-model parsing around the handler. The fast lane is a pure
ASGI middleware in front of the router: for the hot ``POST`` routes it reads the body,
validates it with the route's own pydantic model in one ``model_validate_json`` call (Rust,
no intermediate dicts), and calls the route's own handler with the app's state, settings and
metrics. Handlers, models and OpenAPI docs stay declared once, on the FastAPI routes.

Anything the lane does not handle cleanly — another route, a body that fails validation, a
handler that raises (a 4xx naming the field, a 404) — falls through to the full FastAPI path
with the body replayed, so error responses are exactly the framework's. Only valid requests,
the overwhelming majority, take the short path.

The lane and the request-id/metrics middleware sit *in front of* the framework
(:class:`FrontedFastAPI`), not inside its middleware stack: a lane request then skips the
framework's error, telemetry and body-limit layers and their ``send`` wrappers, which cost a
``/healthz``-sized request's worth of CPU on every ranking request. Requests the lane passes
on reach the framework as before, with the same layers.

A *raw* lane is for a hot route that reads its own body without a body model (``POST
/v1/events``): the module owning the route supplies a function answering from the ASGI scope and
receive, shared with the route itself, and a predicate for the requests it takes (the usual
query strings); everything else goes to the framework as above.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("palate.fast_lane")
Handler = Callable[..., Awaitable[Response]]
ARGUMENTS = ("body", "request", "state", "settings", "metrics")  # what the lane passes


@dataclass(frozen=True, slots=True)
class Lane:
    """One hot route: its path pattern, body model, handler and the FastAPI route (for labels)."""

    pattern: re.Pattern[str]
    model: type[BaseModel]
    handler: Handler
    route: APIRoute


@dataclass(frozen=True, slots=True)
class RawLane:
    """A hot route that reads its own body (no body model), answered from the ASGI scope and
    receive with the app's state when ``takes`` the request; otherwise the framework does."""

    path: str
    takes: Callable[[Scope], bool]
    answer: Callable[[Scope, Receive, Any], Awaitable[Response]]


def lanes_of(app: FastAPI, paths: tuple[str, ...]) -> tuple[Lane, ...]:
    """A lane for each ``POST`` route of ``app`` whose path template is in ``paths``."""
    lanes = []
    for route in api_routes(app.routes):
        if route.path not in paths:
            continue
        model = None if route.body_field is None else route.body_field.field_info.annotation
        fits = _takes_only(route.endpoint, {*ARGUMENTS, *route.param_convertors})
        is_post = "POST" in (route.methods or ())
        if is_post and fits and isinstance(model, type) and issubclass(model, BaseModel):
            lanes.append(Lane(_pattern(route.path), model, route.endpoint, route))
    return tuple(lanes)


def api_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[APIRoute]:
    """Every API route, including those of included routers (kept lazily by FastAPI)."""
    for route in routes:
        if isinstance(route, APIRoute) and not prefix:
            yield route
        included = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if included is not None:
            nested = prefix + str(getattr(context, "prefix", "") or "")
            yield from api_routes(included.routes, nested)


def _takes_only(handler: Callable[..., Any], names: set[str]) -> bool:
    """Whether every parameter of ``handler`` is one the lane can supply."""
    return set(inspect.signature(handler).parameters) <= names


def _pattern(template: str) -> re.Pattern[str]:
    """``/v1/venues/{venue_id}/items`` → a regex with a named group per path parameter.

    >>> _pattern("/v1/venues/{venue_id}/items").fullmatch("/v1/venues/v7/items")["venue_id"]
    'v7'
    """
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if odd else re.escape(part) for odd, part in _alternate(parts)
    )
    return re.compile(regex)


def _alternate(parts: list[str]) -> list[tuple[bool, str]]:
    return [(k % 2 == 1, part) for k, part in enumerate(parts)]


class FrontedFastAPI(FastAPI):
    """A FastAPI app whose HTTP requests enter through ``front`` (the lane, in observability).

    ``front`` ends in :meth:`framework`, FastAPI's own entry, for what the lane does not
    answer; lifespan and websocket scopes go straight to the framework.
    """

    front: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """HTTP through the front, the rest to the framework."""
        front = self.front
        if front is None or scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # as Starlette would: handlers may reach the app from the request
        await front(scope, receive, send)

    async def framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The full FastAPI path: its middleware stack, routing, dependencies and errors."""
        await super().__call__(scope, receive, send)


class FastLane:
    """ASGI middleware answering the lanes' valid requests directly (see the module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        fastapi: FastAPI,
        paths: tuple[str, ...],
        raw: tuple[RawLane, ...] = (),
    ) -> None:
        self.app = app
        self.fastapi = fastapi
        self.paths = paths
        self.raw = {lane.path: lane for lane in raw}
        self._lanes: tuple[Lane, ...] | None = None
        self._raw_routes: dict[str, APIRoute] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a lane's request, or pass it on untouched."""
        raw = self._raw_match(scope) if scope["type"] == "http" else None
        if raw is not None:
            await self._answer_raw(raw, scope, receive, send)
            return
        match = self._match(scope) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        lane, params = match
        body = await read_body(receive)
        response = await self._answer(lane, params, scope, body)
        if response is None:  # the framework answers, with its own errors
            await self.app(scope, _replay(body, receive), send)
            return
        scope["route"] = lane.route
        await response(scope, receive, send)

    async def _answer_raw(self, lane: RawLane, scope: Scope, receive: Receive, send: Send) -> None:
        reply = await lane.answer(scope, receive, self.fastapi.state)
        scope["route"] = self._route_of(lane.path)
        await reply(scope, receive, send)

    def _raw_match(self, scope: Scope) -> RawLane | None:
        lane = self.raw.get(scope["path"])
        if lane is None or scope["method"] != "POST" or not _is_json(scope):
            return None
        return lane if lane.takes(scope) else None

    def _route_of(self, path: str) -> APIRoute | None:
        """The FastAPI route of a raw lane's path (metrics label the request with it)."""
        if self._raw_routes is None:
            self._raw_routes = {r.path: r for r in api_routes(self.fastapi.routes)}
        return self._raw_routes.get(path)

    def _match(self, scope: Scope) -> tuple[Lane, dict[str, str]] | None:
        if scope["method"] != "POST" or not _is_json(scope):
            return None
        if self._lanes is None:  # routes are complete once the app has started
            self._lanes = lanes_of(self.fastapi, self.paths)
        for lane in self._lanes:
            found = lane.pattern.fullmatch(scope["path"])
            if found is not None:
                return lane, found.groupdict()
        return None

    async def _answer(
        self, lane: Lane, params: dict[str, str], scope: Scope, body: bytes
    ) -> Response | None:
        try:
            parsed = lane.model.model_validate_json(body)
        except ValidationError:
            return None
        state = self.fastapi.state
        kwargs: dict[str, Any] = {
            "body": parsed,
            "request": Request(scope),
            "state": state.palate,
            "settings": state.settings,
            "metrics": state.metrics,
            **params,
        }
        try:
            return await lane.handler(**kwargs)
        except Exception:  # 4xx, 404 or worse: the full path answers it the framework's way
            return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return bool(value.split(b";", 1)[0].strip().lower() == b"application/json")
    return False


class BodyTooLargeError(Exception):
    """The body went past the reader's limit (the rest is left unread)."""


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
    """The whole request body; past ``limit`` bytes, :class:`BodyTooLargeError` at once."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the already-read body once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
