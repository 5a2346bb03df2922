"""An open-loop, constant-rate HTTP load generator (latency from each request's intended send time).

Closed-loop tools hide queueing: when the server slows down they simply send less. Here request
*i* is due at ``start + i / rate`` whatever happened before, and its latency is measured from
that due time, so a stall shows up in every request it delays (no coordinated omission).
Requests are pre-encoded HTTP/1.1 bytes sent over keep-alive connections from one uvloop loop.

A due request that finds every connection busy opens another (up to ``max_connections``), as
a constant-arrival-rate executor adds virtual users: otherwise a slow endpoint would be capped
by the pool (64 connections at 100 ms answer at most 640 requests/s, whatever the server
could do) and the cap would read as the server's saturation. The peak is reported.
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
MAX_CONNECTIONS = 1_024  # the pool's ceiling; a run needing more than this is saturated anyway


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
    connections: int = 0
    """The most connections open at once (the pool grows when every one is busy)."""

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
        self.run.joined(self)

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

    def __init__(self, total: int, host: str, port: int, max_connections: int) -> None:
        self.address = (host, port)
        self.max_connections = max_connections
        self.opening = 0
        self._dialing: set[asyncio.Task[None]] = set()  # kept until done (asyncio holds weak refs)
        self.opened: list[_Connection] = []
        self.idle: deque[_Connection] = deque()
        self.busy: set[_Connection] = set()
        self.backlog: deque[tuple[float, bytes]] = deque()
        self.latencies: list[float] = []
        self.errors = 0
        self.pending = total
        self.finished = asyncio.get_running_loop().create_future()

    def submit(self, due: float, request: bytes) -> None:
        """Send now on an idle connection, else on the next one free or opened (an error with
        none left and none opening)."""
        if self.idle:
            connection = self.idle.pop()
            self.busy.add(connection)
            connection.send(due, request)
            return
        if len(self.busy) + self.opening < self.max_connections:
            self.opening += 1
            self.open_one()
        if self.busy or self.opening:
            self.backlog.append((due, request))
        else:  # every connection was lost
            self.errors += 1
            self._done_one()

    async def connect(self) -> None:
        """Open one more connection (it joins the schedule once connected)."""
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: _Connection(self), *self.address)

    def open_one(self) -> None:
        """Start opening a connection without waiting for it."""
        task = asyncio.get_running_loop().create_task(self._dial())
        self._dialing.add(task)
        task.add_done_callback(self._dialing.discard)

    async def _dial(self) -> None:
        try:
            await self.connect()
        except OSError:
            self.failed_to_open()

    def joined(self, connection: _Connection) -> None:
        """A new connection takes the oldest waiting request, or waits for one."""
        self.opening = max(self.opening - 1, 0)
        self.opened.append(connection)
        if self.backlog:
            self.busy.add(connection)
            connection.send(*self.backlog.popleft())
        else:
            self.idle.append(connection)

    def failed_to_open(self) -> None:
        """A connection that could not be opened; with nothing else left, the waiting fail."""
        self.opening = max(self.opening - 1, 0)
        self._fail_backlog_if_stranded()

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
        self._fail_backlog_if_stranded()

    def _fail_backlog_if_stranded(self) -> None:
        if not self.idle and not self.busy and not self.opening:
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
    max_connections: int,
) -> RunResult:
    total, late = int(rate * duration_s), 0
    schedule = _Schedule(total, host, port, max(max_connections, connections))
    for _ in range(connections):
        await schedule.connect()
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
    for connection in schedule.opened:
        if connection.transport is not None:
            connection.transport.close()
    peak = len(schedule.opened)
    latencies = np.array(schedule.latencies)
    return RunResult(rate, duration_s, latencies, schedule.errors, late, peak)


def constant_rate(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    duration_s: float,
    connections: int = 64,
    max_connections: int = MAX_CONNECTIONS,
) -> RunResult:
    """Send ``requests`` (cycled) at ``rate`` per second for ``duration_s`` seconds, over
    ``connections`` opened first and more, up to ``max_connections``, while all are busy.

    The generator shares the machine's cores with the server, so it runs on uvloop: every
    microsecond it spends per request is taken from the server being measured.
    """
    run = _run(host, port, requests, rate, duration_s, connections, max_connections)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run)


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
