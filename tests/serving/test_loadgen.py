"""The open-loop load generator against a real server: every request is answered and timed."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import numpy as np
import orjson
import pytest

from palate.serving.loadgen import RunResult, constant_rate, encode_post
from tests.servers import RunningServer

pytestmark = pytest.mark.integration


def test_constant_rate_sends_on_schedule_and_times_every_request(server: RunningServer) -> None:
    url = urlsplit(server.base_url)
    assert url.hostname is not None
    assert url.port is not None
    good = orjson.dumps({"user_id": "u1", "location": {"lat": 60.17, "lon": 24.94}})
    bad = orjson.dumps({"user_id": "u1"})
    requests = [encode_post(url.hostname, "/v1/discovery", body) for body in (good, good, bad)]
    result = constant_rate(url.hostname, url.port, requests, rate=60, duration_s=1.0, connections=4)
    assert len(result.latencies_s) + result.errors == 60
    assert result.errors == 20  # every third request is invalid and answered 422
    assert 0 < result.percentile_ms(50) <= result.percentile_ms(99)
    assert set(result.row()) == {
        "rate",
        "achieved",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "p99.9_ms",
        "errors",
    }


@contextmanager
def tcp_server(handler: type[socketserver.BaseRequestHandler]) -> Iterator[tuple[str, int]]:
    """A real threaded TCP server running ``handler`` per connection, at (host, port)."""
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host, port = server.server_address[:2]
        try:
            yield str(host), int(port)
        finally:
            server.shutdown()


def test_connections_the_server_drops_count_as_errors_and_the_run_ends() -> None:
    """A real TCP server that reads each request and hangs up: every request fails, none hangs."""

    class HangUp(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(65536)  # the request arrived; no answer

    with tcp_server(HangUp) as (host, port):
        request = encode_post(host, "/v1/discovery", b"{}")
        result = constant_rate(host, port, [request], rate=50, duration_s=0.4, connections=3)
    assert result.errors == 20
    assert len(result.latencies_s) == 0
    assert np.isnan(result.percentile_ms(99))


class SlowAnswer(socketserver.BaseRequestHandler):
    """Answers every request on its connection with a 200 after 100 ms (a thread each)."""

    def handle(self) -> None:
        while self.request.recv(65536):
            time.sleep(0.1)
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")


def _slow_run(connections: int, max_connections: int) -> RunResult:
    with tcp_server(SlowAnswer) as (host, port):
        request = encode_post(host, "/slow", b"{}")
        return constant_rate(
            host,
            port,
            [request],
            rate=100,
            duration_s=0.5,
            connections=connections,
            max_connections=max_connections,
        )


def test_the_pool_grows_while_every_connection_is_busy() -> None:
    """100/s at 100 ms each needs ~10 connections: two to start with, the rest opened."""
    grown = _slow_run(connections=2, max_connections=64)
    assert grown.errors == 0
    assert len(grown.latencies_s) == 50
    assert 10 <= grown.connections <= 64
    assert grown.percentile_ms(99) < 200  # nothing waited long for a connection


def test_a_capped_pool_queues_and_the_latency_shows_it() -> None:
    capped = _slow_run(connections=2, max_connections=2)
    assert capped.connections == 2
    assert len(capped.latencies_s) == 50
    # two connections serve 20/s: the last requests waited ~2 s from their due time
    assert capped.percentile_ms(99) > 1_000
