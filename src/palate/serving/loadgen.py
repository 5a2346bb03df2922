"""An open-loop, constant-rate HTTP load generator (latency from each request's intended send time).

Closed-loop tools hide queueing: when the server slows down they simply send less. Here request
*i* is due at ``start + i / rate`` whatever happened before, and its latency is measured from
that due time, so a stall shows up in every request it delays (no coordinated omission).
Requests are pre-encoded HTTP/1.1 bytes sent over keep-alive connections from one uvloop loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import uvloop

PERCENTILES = (50.0, 95.0, 99.0, 99.9)


def encode_post(host: str, path: str, body: bytes) -> bytes:
    """One keep-alive ``POST`` with a JSON body, as bytes on the wire."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


@dataclass(frozen=True, slots=True)
class RunResult:
    """Latencies (seconds, from the intended send time) and errors of one constant-rate run."""

    rate: float
    duration_s: float
    latencies_s: npt.NDArray[np.float64]
    errors: int
    late_starts: int

    def percentile_ms(self, q: float) -> float:
        """A latency percentile in milliseconds (NaN when nothing completed)."""
        if not len(self.latencies_s):
            return float("nan")
        return float(np.percentile(self.latencies_s, q) * 1000)

    @property
    def achieved_rate(self) -> float:
        """Completed requests per second of schedule."""
        return len(self.latencies_s) / self.duration_s if self.duration_s else 0.0

    def row(self) -> dict[str, float]:
        """Rate, achieved rate, percentiles and errors, for a report table."""
        row = {"rate": self.rate, "achieved": round(self.achieved_rate, 1)}
        row |= {f"p{q:g}_ms": round(self.percentile_ms(q), 3) for q in PERCENTILES}
        row |= {"errors": self.errors}
        return row


def _content_length(head: bytes) -> int:
    """The ``Content-Length`` of a response head (0 without one)."""
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            return int(line[15:])
    return 0


class _Connection(asyncio.Protocol):
    """One keep-alive connection: sends a request, parses its response as bytes arrive.

    A protocol rather than streams and tasks: the generator shares the cores with the server,
    and every await per request (a queue, a read of the head, a read of the body) was CPU
    taken from the server being measured.
    """

    def __init__(self, run: _Schedule) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.due = 0.0
        self.status = 0
        self.expected = -1  # bytes of the whole response, once its head is in

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass

    def send(self, due: float, request: bytes) -> None:
        """Send ``request``, due at ``due`` (its latency counts from then)."""
        assert self.transport is not None  # noqa: S101 - only connected ones are idle
        self.due, self.expected = due, -1
        self.buffer.clear()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        """Collect the response; once whole, report it and take the next job."""
        self.buffer += data
        if self.expected < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            self.status = int(head[9:12])
            self.expected = end + 4 + _content_length(head)
        if len(self.buffer) >= self.expected:
            self.run.answered(self, self.status, time.perf_counter() - self.due)

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002 - asyncio's signature
        """A closed connection fails its request in flight and takes no more."""
        self.run.lost(self)


class _Schedule:
    """Jobs handed to idle connections, or queued (from their due time) until one is free."""

    def __init__(self, total: int) -> None:
        self.idle: deque[_Connection] = deque()
        self.busy: set[_Connection] = set()
        self.backlog: deque[tuple[float, bytes]] = deque()
        self.latencies: list[float] = []
        self.errors = 0
        self.pending = total
        self.finished = asyncio.get_running_loop().create_future()

    def submit(self, due: float, request: bytes) -> None:
        """Send now on an idle connection, else when one frees up (an error with none left)."""
        if self.idle:
            connection = self.idle.pop()
            self.busy.add(connection)
            connection.send(due, request)
        elif self.busy:
            self.backlog.append((due, request))
        else:  # every connection was lost
            self.errors += 1
            self._done_one()

    def answered(self, connection: _Connection, status: int, latency_s: float) -> None:
        """One response in: timed when 200, an error otherwise."""
        if status == 200:
            self.latencies.append(latency_s)
        else:
            self.errors += 1
        self._done_one()
        if self.backlog:
            connection.send(*self.backlog.popleft())
        else:
            self.busy.discard(connection)
            self.idle.append(connection)

    def lost(self, connection: _Connection) -> None:
        """Its request in flight (if any) is an error; with no connection left, so is the rest."""
        if connection in self.busy:
            self.busy.discard(connection)
            self.errors += 1
            self._done_one()
        if connection in self.idle:
            self.idle.remove(connection)
        if not self.idle and not self.busy:
            while self.backlog:
                self.backlog.popleft()
                self.errors += 1
                self._done_one()

    def _done_one(self) -> None:
        self.pending -= 1
        if self.pending <= 0 and not self.finished.done():
            self.finished.set_result(None)


async def _run(
    host: str,
    port: int,
    requests: Sequence[bytes],
    rate: float,
    duration_s: float,
    connections: int,
) -> RunResult:
    loop = asyncio.get_running_loop()
    total, late = int(rate * duration_s), 0
    schedule = _Schedule(total)
    opened = [
        await loop.create_connection(lambda: _Connection(schedule), host, port)
        for _ in range(connections)
    ]
    schedule.idle.extend(protocol for _, protocol in opened)
    start = time.perf_counter() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.001:
            late += 1  # the generator itself fell behind; latency still counts from `due`
        schedule.submit(due, requests[i % len(requests)])
    if total:
        await schedule.finished
    for transport, _ in opened:
        transport.close()
    return RunResult(rate, duration_s, np.array(schedule.latencies), schedule.errors, late)


def constant_rate(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    duration_s: float,
    connections: int = 64,
) -> RunResult:
    """Send ``requests`` (cycled) at ``rate`` per second for ``duration_s`` seconds.

    The generator shares the machine's cores with the server, so it runs on uvloop: every
    microsecond it spends per request is taken from the server being measured.
    """
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_run(host, port, requests, rate, duration_s, connections))


def highest_sustained_rate(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    rates: Sequence[float],
    duration_s: float,
    p99_ms: float,
) -> tuple[float, list[RunResult]]:
    """The highest of ``rates`` (ascending) whose p99 stays within ``p99_ms`` without errors."""
    best, runs = 0.0, []
    for rate in rates:
        result = constant_rate(host, port, requests, rate=rate, duration_s=duration_s)
        runs.append(result)
        if result.errors or result.percentile_ms(99) > p99_ms:
            break
        best = rate
    return best, runs
