"""Pure ASGI middleware: request id, latency histogram per endpoint, one JSON log line."""

from __future__ import annotations

import logging
import os
import random
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from palate.observability.logging import REQUEST_ID
from palate.observability.metrics import Metrics

log = logging.getLogger("palate.access")


class ObservabilityMiddleware:
    """Times every HTTP request and tags it with an id (``x-request-id`` in and out)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        # The histogram's child per label set; label lookups (a lock and validation) each
        # request cost more than the observation. The set is bounded: routes x methods x codes.
        self._timers: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or new_request_id()
        token = REQUEST_ID.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._observe(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        # A mounted app (static files) has no route but its mount path in root_path; a path
        # nothing matched stays "unmatched" so the label set cannot grow with arbitrary URLs.
        endpoint = getattr(route, "path", None) or scope.get("root_path") or "unmatched"
        key = (endpoint, scope["method"], status)
        timer = self._timers.get(key)
        if timer is None:
            timer = self._timers[key] = self.metrics.request_seconds.labels(
                key[0], key[1], str(status)
            )
        timer.observe(seconds)
        if self.access_log:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                },
            )


_IDS = random.Random()  # request ids must be unique, not secret: no CSPRNG needed
os.register_at_fork(after_in_child=_IDS.seed)  # a forked worker must not repeat its parent's


def new_request_id() -> str:
    """32 random hex digits, as ``uuid4().hex`` gives, without a system call per request.

    A private generator seeded from the OS (and again in every forked child): whatever else
    seeds the ``random`` module, ids stay unique across workers and restarts.

    >>> a, b = new_request_id(), new_request_id()
    >>> len(a), a != b, int(a, 16) >= 0
    (32, True, True)
    """
    return f"{_IDS.getrandbits(128):032x}"


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")[:64]
            return text or None
    return None
