"""Feature store throughput and latency, memory against Redis.

Run with ``pytest benchmarks/bench_feature_store.py -m benchmark -s`` (Redis at
``PALATE_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/0``; the run uses its own key prefix
and deletes it). Figures:

* write throughput: events per second through ``FeatureService.ingest`` (every default
  feature: conform, polars grouping, compaction, one store write) for 1,000-event batches of
  a realistic mix (60 % venue impressions, 25 % clicks, 15 % orders of 1-4 lines);
* read latency: one ranking request's features for 1,000 candidate venues, p50/p99, both the
  store round trip alone and the whole ``venue_features`` call (reads plus column maths).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest

from palate.events.schema import conform
from palate.features.base import VenueRequest
from palate.features.service import FeatureService, epoch_seconds
from palate.features.store import FeatureStore, ReadBatch
from palate.features.store.memory import MemoryFeatureStore
from palate.features.store.redis import RedisFeatureStore
from palate.features.venue_attributes import VenueAttributes

REDIS_URL = os.environ.get("PALATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
N_VENUES = 5_000
N_USERS = 20_000
BATCH = 1_000
N_BATCHES = 60
N_CANDIDATES = 1_000
N_READS = 500
NOW = datetime(2024, 5, 3, 18, tzinfo=UTC)
Floats = npt.NDArray[np.float64]


def attributes(rng: np.random.Generator) -> VenueAttributes:
    cuisines = ["pizza", "sushi", "burger", "thai", "indian", "salad", "kebab", "grocery"]
    venues = [f"v{k}" for k in range(N_VENUES)]
    return VenueAttributes.build(
        cuisines={
            v: list(rng.choice(cuisines, size=rng.integers(1, 3), replace=False)) for v in venues
        },
        categories={v: ["restaurant" if rng.random() < 0.8 else "shop"] for v in venues},
        price_levels={v: int(rng.integers(1, 5)) for v in venues},
    )


def event_batch(rng: np.random.Generator, serial: int) -> pa.Table:
    """1,000 events over the last two days; popular venues and customers are more likely."""
    kinds = rng.choice(["impression", "click", "order"], size=BATCH, p=[0.6, 0.25, 0.15])
    venues = np.array([f"v{k}" for k in rng.zipf(1.3, BATCH) % N_VENUES])
    ts = [NOW - timedelta(seconds=float(s)) for s in rng.uniform(0, 2 * 86_400, BATCH)]
    is_order = kinds == "order"
    lines = [
        [
            {
                "item_id": f"{venue}-i{rng.integers(40)}",
                "quantity": int(rng.integers(1, 3)),
                "unit_price": 9.5,
            }
            for _ in range(rng.integers(1, 5))
        ]
        if order
        else None
        for venue, order in zip(venues, is_order, strict=True)
    ]
    table = pa.table(
        {
            "event_id": [f"e{serial}-{k}" for k in range(BATCH)],
            "type": kinds,
            "user_id": [f"u{k}" for k in rng.integers(0, N_USERS, BATCH)],
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "entity_kind": [None if o else "venue" for o in is_order],
            "entity_id": [None if o else v for o, v in zip(is_order, venues, strict=True)],
            "venue_id": venues,
            "order_id": [f"o{serial}-{k}" if o else None for k, o in enumerate(is_order)],
            "total": np.where(is_order, 25.0, np.nan),
            "lines": lines,
        }
    )
    return conform(table)


def write_throughput(service: FeatureService, batches: list[pa.Table]) -> tuple[float, Floats]:
    """Events per second over all batches, and each batch's milliseconds."""
    service.ingest(batches[0])  # warm-up: imports, scripts, connections
    per_batch = np.empty(len(batches) - 1)
    started = time.perf_counter()
    for k, batch in enumerate(batches[1:]):
        t0 = time.perf_counter_ns()
        service.ingest(batch)
        per_batch[k] = (time.perf_counter_ns() - t0) / 1e6
    elapsed = time.perf_counter() - started
    return (len(batches) - 1) * BATCH / elapsed, per_batch


def read_latency(service: FeatureService, rng: np.random.Generator) -> tuple[Floats, Floats]:
    """Microseconds per request: the store read alone, and the whole venue_features call."""
    store_us, call_us = np.empty(N_READS), np.empty(N_READS)
    for k in range(-20, N_READS):  # the first 20 warm up
        user = f"u{rng.integers(0, N_USERS)}"
        ids = [f"v{j}" for j in rng.choice(N_VENUES, N_CANDIDATES, replace=False)]
        request = VenueRequest(user, tuple(ids), epoch_seconds(NOW), NOW, service.attributes)
        reads = ReadBatch()
        for feature in service.features.venue_features:
            feature.plan_venues(request, reads)
        t0 = time.perf_counter_ns()
        service.store.read(reads, request.now)
        t1 = time.perf_counter_ns()
        columns = service.venue_features(user, ids, NOW)
        t2 = time.perf_counter_ns()
        assert len(columns["ctr"]) == N_CANDIDATES
        if k >= 0:
            store_us[k], call_us[k] = (t1 - t0) / 1e3, (t2 - t1) / 1e3
    return store_us, call_us


def run(name: str, store: FeatureStore) -> list[str]:
    rng = np.random.default_rng(11)
    service = FeatureService(store, attributes=attributes(rng))
    batches = [event_batch(rng, k) for k in range(N_BATCHES)]
    log = pa.concat_tables(batches)
    service.refresh_snapshots(log, NOW)
    rate, per_batch = write_throughput(service, batches)
    store_us, call_us = read_latency(service, rng)
    p = np.percentile
    return [
        f"{name:<7} write {rate:9,.0f} events/s  "
        f"(batch of {BATCH}: p50 {p(per_batch, 50):6.1f} ms, p99 {p(per_batch, 99):6.1f} ms)",
        f"{name:<7} read {N_CANDIDATES} venues: store p50 {p(store_us, 50) / 1e3:6.2f} ms, "
        f"p99 {p(store_us, 99) / 1e3:6.2f} ms; venue_features p50 {p(call_us, 50) / 1e3:6.2f} ms, "
        f"p99 {p(call_us, 99) / 1e3:6.2f} ms",
    ]


def with_redis(use: Callable[[RedisFeatureStore], list[str]]) -> list[str]:
    store = RedisFeatureStore.from_url(REDIS_URL, namespace=f"palate-bench-{uuid.uuid4().hex[:8]}")
    try:
        return use(store)
    finally:
        store.clear()
        store.close()


@pytest.mark.benchmark
def test_feature_store_write_throughput_and_read_latency() -> None:
    lines = run("memory", MemoryFeatureStore())
    lines += with_redis(lambda store: run("redis", store))
    print()
    print(
        f"{N_BATCHES - 1} batches of {BATCH} events, {N_VENUES} venues, {N_USERS} customers; "
        f"{N_READS} ranking reads of {N_CANDIDATES} candidates; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    for line in lines:
        print(line)
