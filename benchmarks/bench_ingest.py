"""Ingest throughput of ``POST /v1/events`` over HTTP, with the memory store and with Redis.

Run with ``pytest benchmarks/bench_ingest.py -m benchmark -s``. A real ``palate serve``
process (one worker) ingests 1,000-event batches sent by a few concurrent client
connections; every event is fsynced into the WAL before its reply, as in production, and
the WAL is compacted into the Parquet event log every second during the run. The
events are a realistic mix (70% impressions, 20% clicks, 7% add-to-cart, 3% orders) over
the venues of a simulated city. Redis mode needs a Redis at 127.0.0.1:6379.

Targets on the 2-core reference machine: >= 20,000 events/s (memory), >= 10,000 (Redis).
The client runs on the same two cores, so the figures understate the server.
"""

from __future__ import annotations

import random
import shutil
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
import redis
from tests.servers import palate_server

from palate.catalog.store import load_catalog
from palate.settings import Settings
from palate.simulate.write import run_simulation

BATCH = 1_000
BATCHES = 240
WARMUP_BATCHES = 8
CONNECTIONS = 4
REDIS_URL = "redis://127.0.0.1:6379/0"
TARGETS = {"memory": 20_000, "redis": 10_000}


def _event(
    rng: random.Random, venues: list[str], items: list[str], at: datetime
) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": uuid.uuid4().hex,
        "user_id": f"u{rng.randrange(20_000)}",
        "ts": at.isoformat(),
        "location": {
            "lat": 60.17 + rng.uniform(-0.05, 0.05),
            "lon": 24.94 + rng.uniform(-0.1, 0.1),
        },
    }
    venue, roll = rng.choice(venues), rng.random()
    if roll < 0.70:
        return {
            **base,
            "type": "impression",
            "request_id": uuid.uuid4().hex[:16],
            "premise": "discovery",
            "entity_kind": "venue",
            "entity_id": venue,
            "position": rng.randrange(50),
        }
    if roll < 0.90:
        return {**base, "type": "click", "entity_kind": "venue", "entity_id": venue}
    item = rng.choice(items)
    if roll < 0.97:
        return {**base, "type": "add_to_cart", "venue_id": venue, "item_id": item, "quantity": 1}
    lines = [{"item_id": item, "quantity": 2, "unit_price": 9.5}]
    return {
        **base,
        "type": "order",
        "order_id": uuid.uuid4().hex,
        "venue_id": venue,
        "total": 19.0,
        "lines": lines,
    }


def _bodies(data: Path, count: int, seed: int) -> list[bytes]:
    catalog = load_catalog(data / "catalog")
    venues, items = sorted(catalog.venues), sorted(catalog.items)
    rng = random.Random(seed)
    start = datetime(2026, 9, 18, 9, tzinfo=UTC)
    bodies = []
    for b in range(count):
        at = start + timedelta(seconds=b)
        events = [_event(rng, venues, items, at + timedelta(milliseconds=i)) for i in range(BATCH)]
        bodies.append(orjson.dumps({"events": events}))
    return bodies


def _send(base_url: str, bodies: list[bytes], latencies: list[float], accepted: list[int]) -> None:
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=base_url, timeout=60.0) as client:
        for body in bodies:
            started = time.perf_counter()
            reply = client.post("/v1/events", content=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            assert reply.status_code == 200, reply.text
            accepted.append(orjson.loads(reply.content)["accepted"])


def _run(base_url: str, bodies: list[bytes]) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    accepted: list[int] = []
    shares = [bodies[i::CONNECTIONS] for i in range(CONNECTIONS)]
    threads = [
        threading.Thread(target=_send, args=(base_url, share, latencies, accepted))
        for share in shares
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, sum(accepted)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench-city")
    run_simulation(
        Settings(data={"dir": root}, simulation={"seed": 5, "customers": 2_000, "days": 7})
    )
    return root


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=10_000))
    for start in range(0, len(keys), 10_000):
        client.delete(*keys[start : start + 10_000])
    client.close()


def _bench(mode: str, city: Path, tmp: Path, env: dict[str, str]) -> None:
    data = tmp / "data"
    shutil.copytree(city / "catalog", data / "catalog")
    bodies = _bodies(data, WARMUP_BATCHES + BATCHES, seed=3)
    quiet = {
        "PALATE_SERVER__ACCESS_LOG": "false",
        "PALATE_LOG_LEVEL": "WARNING",
        # Compact during the run, so its cost is in the figure (the default is every 10 s).
        "PALATE_INGEST__COMPACT_INTERVAL_S": "1.0",
        **env,
    }
    with palate_server(data, tmp, env=quiet) as server:
        _run(server.base_url, bodies[:WARMUP_BATCHES])
        elapsed, latencies, accepted = _run(server.base_url, bodies[WARMUP_BATCHES:])
        stats = httpx.get(f"{server.base_url}/v1/events/stats").json()
    events = BATCHES * BATCH
    rate = events / elapsed
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"\ningest [{mode}]: {events:,} events in {BATCHES} batches of {BATCH:,} over "
        f"{CONNECTIONS} connections: {elapsed:.2f}s = {rate:,.0f} events/s "
        f"(target {TARGETS[mode]:,}); per request p50 {cuts[49] * 1000:.1f} ms, "
        f"p99 {cuts[98] * 1000:.1f} ms; body {len(bodies[0]) / 1e3:.0f} KB"
    )
    print(f"server stats: {orjson.dumps(stats).decode()}")
    assert accepted == events


@pytest.mark.benchmark
def test_ingest_throughput_memory(city: Path, tmp_path: Path) -> None:
    _bench("memory", city, tmp_path, {})


@pytest.mark.benchmark
def test_ingest_throughput_redis(city: Path, tmp_path: Path, redis_prefix: str) -> None:
    env = {"PALATE_REDIS__URL": REDIS_URL, "PALATE_REDIS__KEY_PREFIX": redis_prefix}
    _bench("redis", city, tmp_path, env)
