"""The server's ASGI app called in this process: a whole request's CPU without the network.

``palate bench --stages`` sends the load generator's own request bytes straight to the app
(the fast lane, parsing, the pipeline, response rows, JSON, request id, metrics): what a
worker spends per request minus sockets, HTTP parsing and the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Message


@dataclass(frozen=True, slots=True)
class AsgiRequest:
    """One HTTP request as an ASGI scope and its body."""

    scope: dict[str, Any]
    body: bytes


@dataclass(frozen=True, slots=True)
class AsgiResponse:
    """What the app sent back."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body, decoded."""
        return orjson.loads(self.body)


def asgi_request(raw: bytes, *, trace: bool = False) -> AsgiRequest:
    """A request as the load generator puts it on the wire, as ASGI; with ``trace`` its JSON
    body also asks for the per-stage trace.

    >>> from palate.serving.loadgen import encode_post
    >>> request = asgi_request(encode_post("h", "/v1/x?a=1", b'{"k": 1}'), trace=True)
    >>> request.scope["path"], request.scope["query_string"], orjson.loads(request.body)
    ('/v1/x', b'a=1', {'k': 1, 'trace': True})
    """
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *header_lines = head.split(b"\r\n")
    method, target, _ = request_line.split(b" ")
    if trace:
        body = orjson.dumps(orjson.loads(body) | {"trace": True})
    length = str(len(body)).encode()
    headers = [
        (name, length if name == b"content-length" else value)
        for name, value in map(_header, header_lines)
    ]
    path, _, query = target.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.decode(),
        "scheme": "http",
        "path": path.decode(),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50_000),
        "server": ("127.0.0.1", 8_000),
    }
    return AsgiRequest(scope, body)


def _header(line: bytes) -> tuple[bytes, bytes]:
    name, _, value = line.partition(b":")
    return name.strip().lower(), value.strip()


async def call(app: ASGIApp, request: AsgiRequest) -> AsgiResponse:
    """Run ``app`` on one request (a fresh scope, as a server makes per request)."""
    status, chunks = 0, []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:  # the app reads past the body only to wait for a disconnect
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": request.body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(dict(request.scope), receive, send)
    return AsgiResponse(status, b"".join(chunks))
