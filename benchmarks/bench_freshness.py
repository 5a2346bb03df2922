"""Feature freshness: from an event's acknowledgement to its effect on the next ranking.

Memory mode (one process; features update before the reply), memory mode with
``ingest.read_your_writes = false`` (the reply after the WAL, the features within
``ingest.apply_interval_s`` plus one apply; the bound is 1 s at p99) and Redis mode (two
replicas: the event goes to A, the ranking is asked of B, so it crosses the stream and the
shared store). Run: ``.venv/bin/pytest benchmarks/bench_freshness.py -m benchmark -s``.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis
from tests.servers import palate_server

from palate.catalog.store import load_catalog
from palate.domain import Location

pytestmark = pytest.mark.benchmark
TRIALS = 60
BOUND_MS = 1_000.0  # order → visible in the next Discovery ranking, p99
WHEN = "2026-09-18T17:30:00Z"


def _ranked(client: httpx.Client, user: str, where: Location) -> list[str]:
    body = {
        "user_id": user,
        "location": {"lat": where.lat, "lon": where.lon},
        "time": WHEN,
        "limit": 500,
    }
    return [v["venue_id"] for v in client.post("/v1/discovery", json=body).json()["venues"]]


def _trial(
    writer: httpx.Client,
    reader: httpx.Client,
    where: Location,
    n: int,
    venue_id: str,
    item: tuple[str, float],
    baseline: int,
) -> float:
    user = f"fresh-{uuid.uuid4().hex[:8]}"
    order = {
        "type": "order",
        "event_id": f"fr-{user}",
        "user_id": user,
        "ts": "2026-09-18T12:00:00Z",
        "order_id": f"fo-{user}",
        "venue_id": venue_id,
        "lines": [{"item_id": item[0], "quantity": 1, "unit_price": item[1]}],
        "total": item[1],
    }
    assert writer.post("/v1/events", json={"events": [order]}).json()["accepted"] == 1
    acknowledged = time.perf_counter()
    while _ranked(reader, user, where).index(venue_id) >= baseline:
        assert time.perf_counter() - acknowledged < 5.0, f"trial {n} never became visible"
    return time.perf_counter() - acknowledged


def _measure(writer: httpx.Client, reader: httpx.Client, data: Path) -> list[float]:
    catalog = load_catalog(data / "catalog")
    where = next(iter(catalog.cities.values())).center
    ranked = _ranked(reader, "fresh-baseline", where)
    venue_id = ranked[len(ranked) // 2]
    first = catalog.items_of(venue_id)[0]
    baseline = ranked.index(venue_id)
    return [
        _trial(writer, reader, where, n, venue_id, (first.id, first.price), baseline)
        for n in range(TRIALS)
    ]


def _report(mode: str, seconds: list[float]) -> None:
    ms = np.array(seconds) * 1000
    p99 = np.percentile(ms, 99)
    print(
        f"freshness {mode:10s}: p50 {np.percentile(ms, 50):7.1f} ms   "
        f"p99 {p99:7.1f} ms   max {ms.max():7.1f} ms   ({len(ms)} trials; "
        f"p99 / bound {p99 / BOUND_MS:.2f})"
    )


def test_freshness(simulated_dir: Path, tmp_path: Path) -> None:
    for mode, env in (
        ("memory", {}),
        ("background", {"PALATE_INGEST__READ_YOUR_WRITES": "false"}),
    ):
        memory = tmp_path / mode
        shutil.copytree(simulated_dir, memory)
        with palate_server(memory, tmp_path, env=env) as server, server.client() as client:
            _report(mode, _measure(client, client, memory))
    shared = tmp_path / "redis"
    shutil.copytree(simulated_dir, shared)
    prefix = f"bench-fresh-{uuid.uuid4().hex[:6]}"
    env = {"PALATE_REDIS__URL": "redis://127.0.0.1:6379/0", "PALATE_REDIS__KEY_PREFIX": prefix}
    try:
        with (
            palate_server(shared, tmp_path, env=env) as a,
            palate_server(shared, tmp_path, env=env) as b,
            a.client() as writer,
            b.client() as reader,
        ):
            _report("redis", _measure(writer, reader, shared))
    finally:
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
