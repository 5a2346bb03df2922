"""Redis Streams fan-out: a consumer group applies each batch once, whichever replica took it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from palate.events.batches import EventBatch
from palate.events.ingest_schema import check_events, rows_to_table
from palate.serving.stream import EventStream, StreamWorker
from tests.ingest.conftest import REDIS_URL
from tests.ingest.samples import logged_ids, mixed, post, statuses
from tests.servers import palate_server

pytestmark = pytest.mark.integration


def _batch(count: int) -> EventBatch:
    return EventBatch(rows_to_table(check_events(mixed(count)).rows))


def _wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@contextmanager
def _running(worker: StreamWorker) -> Iterator[StreamWorker]:
    """The worker started for the block, stopped after it whatever happens."""
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def _pending(client: redis.Redis, stream: EventStream) -> int:
    summary: Any = client.xpending(stream.key, stream.group)
    return int(summary["pending"])


def _published(redis_prefix: str, sizes: list[int]) -> tuple[EventStream, list[EventBatch]]:
    """A stream with its group, holding one published batch of each size."""
    stream = EventStream(redis.Redis.from_url(REDIS_URL), redis_prefix, "appliers", 1_000)
    stream.ensure_group()
    batches = [_batch(size) for size in sizes]
    for batch in batches:
        stream.publish(batch)
    return stream, batches


def test_entries_a_dead_consumer_left_unacknowledged_are_claimed(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    stream = EventStream(redis.Redis.from_url(REDIS_URL), redis_prefix, "appliers", 1_000)
    stream.ensure_group()
    batches = [_batch(5) for _ in range(3)]
    for batch in batches:
        stream.publish(batch)
    # A consumer reads all three and dies before acknowledging any.
    taken: Any = redis_client.xreadgroup(stream.group, "ghost", {stream.key: ">"}, count=10)
    assert len(taken[0][1]) == 3
    applied: list[bytes] = []
    worker = StreamWorker(
        stream, lambda b: applied.append(b.batch_id), claim_idle_s=0.3, block_ms=100
    )
    with _running(worker):
        _wait_for(lambda: len(applied) == 3)
        assert worker.claimed_entries == 3
        late = _batch(2)
        stream.publish(late)
        _wait_for(lambda: len(applied) == 4)
        assert sorted(applied) == sorted([*(b.batch_id for b in batches), late.batch_id])
        _wait_for(lambda: _pending(redis_client, stream) == 0)


def test_a_batch_whose_apply_failed_is_redelivered(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    stream = EventStream(redis.Redis.from_url(REDIS_URL), redis_prefix, "appliers", 1_000)
    attempts: list[bytes] = []

    def flaky(batch: EventBatch) -> None:
        attempts.append(batch.batch_id)
        if len(attempts) == 1:
            raise RuntimeError("feature store briefly down")

    worker = StreamWorker(stream, flaky, claim_idle_s=0.3, block_ms=100)
    with _running(worker):
        batch = _batch(3)
        stream.publish(batch)
        _wait_for(lambda: len(attempts) == 2)
        assert attempts == [batch.batch_id, batch.batch_id]
        assert (worker.failures, worker.applied_batches) == (1, 1)
        _wait_for(lambda: _pending(redis_client, stream) == 0)


def _stats(client: httpx.Client) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/v1/events/stats").json()
    return body


def test_two_replicas_share_dedupe_and_apply_each_event_once(
    data_dir: Path, tmp_path: Path, redis_prefix: str
) -> None:
    env = {
        "PALATE_REDIS__URL": REDIS_URL,
        "PALATE_REDIS__KEY_PREFIX": redis_prefix,
        "PALATE_REDIS__CLAIM_IDLE_S": "2",
        "PALATE_INGEST__COMPACT_INTERVAL_S": "0.5",
    }
    logged_before = len(logged_ids(data_dir / "events"))
    batches = [mixed(20) for _ in range(30)]
    with (
        palate_server(data_dir, tmp_path, env=env) as a,
        palate_server(data_dir, tmp_path, env=env) as b,
        a.client() as to_a,
        b.client() as to_b,
    ):
        for events in batches:
            assert post(to_a, events)["accepted"] == 20
        total = 20 * len(batches)

        def all_applied() -> bool:
            return bool(_stats(to_a)["applied"] + _stats(to_b)["applied"] == total)

        _wait_for(all_applied)
        stats_a, stats_b = _stats(to_a), _stats(to_b)
        assert {stats_a["lane"], stats_b["lane"]} == {"lane-0", "lane-1"}
        assert stats_a["mode"] == stats_b["mode"] == "redis"
        assert (stats_a["accepted"], stats_b["accepted"]) == (total, 0)
        assert stats_b["applied"] > 0, "replica B applied events that replica A ingested"
        assert stats_b["stream"]["pending"] == 0
        assert stats_b["stream"]["lag"] == 0
        # B knows A's events: sending them to B again is a duplicate.
        assert set(statuses(post(to_b, batches[0]))) == {"duplicate"}
    # Each replica compacted its own lane into the shared log on shutdown.
    ids = logged_ids(data_dir / "events")
    assert len(ids) - logged_before == total
    assert len(set(ids)) == len(ids)


def test_the_entries_of_one_read_are_applied_as_one_group(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    stream, batches = _published(redis_prefix, [3, 3, 3, 3])
    one_by_one: list[bytes] = []
    groups: list[list[bytes]] = []
    worker = StreamWorker(
        stream,
        lambda b: one_by_one.append(b.batch_id),
        claim_idle_s=30.0,
        block_ms=100,
        apply_many=lambda group: groups.append([b.batch_id for b in group]),
    )
    with _running(worker):
        _wait_for(lambda: worker.applied_batches == 4)
        assert groups == [[b.batch_id for b in batches]]  # one read, one group, in order
        assert one_by_one == []
        assert worker.applied_events == 12
        _wait_for(lambda: _pending(redis_client, stream) == 0)


def test_a_failed_group_is_applied_one_batch_at_a_time(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    stream, batches = _published(redis_prefix, [2, 2, 2])
    one_by_one: list[bytes] = []

    def broken_group(group: Any) -> None:
        raise ValueError("schemas differ")

    worker = StreamWorker(
        stream,
        lambda b: one_by_one.append(b.batch_id),
        claim_idle_s=30.0,
        block_ms=100,
        apply_many=broken_group,
    )
    with _running(worker):
        _wait_for(lambda: worker.applied_batches == 3)
        assert one_by_one == [b.batch_id for b in batches]
        assert worker.failures == 0
        _wait_for(lambda: _pending(redis_client, stream) == 0)


def test_after_a_short_read_the_worker_waits_for_a_group_to_gather(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    stream, _ = _published(redis_prefix, [])
    groups: list[int] = []
    worker = StreamWorker(
        stream,
        lambda b: groups.append(1),
        claim_idle_s=30.0,
        block_ms=100,
        apply_many=lambda group: groups.append(len(group)),
        pace_s=0.5,
    )
    with _running(worker):
        stream.publish(_batch(1))
        _wait_for(lambda: worker.applied_batches == 1)
        for _ in range(3):  # within the pause that follows the one-entry read
            stream.publish(_batch(1))
        _wait_for(lambda: worker.applied_batches == 4)
        assert groups == [1, 3]
