"""An open-loop, constant-rate HTTP load generator (latency from each request's intended send time).

Closed-loop tools hide queueing: when the server slows down they simply send less. Here request
*i* is due at ``start + i / rate`` whatever happened before, and its latency is measured from
that due time, so a stall shows up in every request it delays (no coordinated omission).
Requests are pre-encoded HTTP/1.1 bytes sent over keep-alive connections from one uvloop loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

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


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    host: str,
    port: int,
    jobs: asyncio.Queue[tuple[float, bytes] | None],
    out: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (job := await jobs.get()) is not None:
            due, request = job
            writer.write(request)
            status = await _read_response(reader)
            if status == 200:
                out.append(time.perf_counter() - due)
            else:
                errors.append(status)
    finally:
        writer.close()


async def _run(
    host: str,
    port: int,
    requests: Sequence[bytes],
    rate: float,
    duration_s: float,
    connections: int,
) -> RunResult:
    jobs: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors: list[int] = []
    workers = [
        asyncio.create_task(_connection(host, port, jobs, latencies, errors))
        for _ in range(connections)
    ]
    total, late = int(rate * duration_s), 0
    start = time.perf_counter() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.001:
            late += 1  # the generator itself fell behind; latency still counts from `due`
        jobs.put_nowait((due, requests[i % len(requests)]))
    for _ in workers:
        jobs.put_nowait(None)
    await asyncio.gather(*workers)
    return RunResult(rate, duration_s, np.array(latencies), len(errors), late)


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
