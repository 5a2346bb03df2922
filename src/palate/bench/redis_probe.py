"""What a request costs Redis: its CPU and the commands it ran (``palate bench --stages
--store redis``).

The client's CPU is the request's own thread time; Redis's is the server's ``used_cpu_user +
used_cpu_sys`` over the same requests, and its commands the growth of ``INFO commandstats``.
Both are the whole server's: anything else using this Redis meanwhile is counted too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis


@dataclass(frozen=True, slots=True)
class RedisReading:
    """Redis's CPU seconds and commands run so far."""

    cpu_s: float
    calls: dict[str, int]


@dataclass(frozen=True, slots=True)
class RedisProbe:
    """Readings of one Redis server, and the key prefix the profiled state lives under."""

    client: redis.Redis
    url: str
    key_prefix: str

    def reading(self) -> RedisReading:
        """CPU and per-command call counts now."""
        cpu: dict[str, Any] = self.client.info("cpu")
        stats: dict[str, Any] = self.client.info("commandstats")
        calls = {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}
        return RedisReading(float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]), calls)

    def per_request(
        self, before: RedisReading, after: RedisReading, requests: int
    ) -> dict[str, Any]:
        """Redis CPU (µs) and each command's calls per request between two readings."""
        calls = {
            name: round((count - before.calls.get(name, 0)) / requests, 2)
            for name, count in sorted(after.calls.items())
            if count > before.calls.get(name, 0) and name not in _PROBE_COMMANDS
        }
        cpu_us = (after.cpu_s - before.cpu_s) * 1e6 / requests
        return {"cpu_us_per_request": round(cpu_us, 1), "commands_per_request": calls}


_PROBE_COMMANDS = frozenset({"info"})  # the probe's own readings


@contextmanager
def redis_probe(url: str) -> Iterator[RedisProbe]:
    """A probe of the Redis at ``url`` with a fresh key prefix, whose keys are deleted after."""
    from palate.bench.server import drop_keys

    client = redis.Redis.from_url(url)
    prefix = f"palate-stages-{uuid.uuid4().hex[:12]}"
    try:
        client.ping()
        yield RedisProbe(client, url, prefix)
    finally:
        drop_keys(url, prefix)
        client.close()
