"""The Ingestor in process: apply callbacks, event time, restarts, WAL faults, stream replay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import redis

from palate.events.batches import EventBatch
from palate.events.dedupe import MemoryDedupe, RedisDedupe
from palate.events.durable import DurableLog
from palate.events.ingest_schema import check_events, rows_to_table
from palate.events.log import EventLog
from palate.events.schema import EVENT_SCHEMA
from palate.events.wal import WriteAheadLog, segment_name
from palate.serving.ingest_report import IngestUnavailableError
from palate.serving.ingestion import Ingestor
from palate.serving.stream import PAYLOAD_FIELD, EventStream
from tests.ingest.conftest import REDIS_URL
from tests.ingest.samples import click, logged_ids, mixed, order


def _ingestor(root: Path, applied: list[pa.Table], **kwargs: object) -> Ingestor:
    durable = DurableLog(root / "wal", EventLog(root / "events"), 1 << 20, 3600.0, 3600.0)
    dedupe = kwargs.pop("dedupe", None) or MemoryDedupe(3600.0, 100_000, 30.0)
    return Ingestor(durable, dedupe, on_accepted=[applied.append], **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def applied() -> list[pa.Table]:
    return []


@pytest.fixture
def ingestor(tmp_path: Path, applied: list[pa.Table]) -> Iterator[Ingestor]:
    service = _ingestor(tmp_path, applied)
    service.start()
    yield service
    service.stop()


def test_callbacks_see_only_accepted_events_before_ingest_returns(
    ingestor: Ingestor, applied: list[pa.Table]
) -> None:
    events = mixed(8)
    report = ingestor.ingest([*events, events[0], click(ts="bad")])
    assert (report.accepted, report.duplicates, report.rejected) == (8, 1, 1)
    assert len(applied) == 1
    assert applied[0].schema == EVENT_SCHEMA
    assert applied[0].column("event_id").to_pylist() == [e["event_id"] for e in events]
    assert ingestor.ingest(events).accepted == 0
    assert len(applied) == 1, "a batch of duplicates applies nothing"


def test_late_and_out_of_order_events_keep_their_event_time(
    ingestor: Ingestor, applied: list[pa.Table], tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    times = [
        now - timedelta(days=3),
        now,
        now - timedelta(days=10, hours=2),
        now - timedelta(minutes=5),
    ]
    events = [click(ts=t.isoformat()) for t in times]
    assert ingestor.ingest(events).accepted == 4
    assert applied[0].column("ts").to_pylist() == times
    ingestor.durable.compact()
    log = EventLog(tmp_path / "events")
    assert set(log.days()) == {t.date() for t in times}
    for t in times:
        day = log.read(
            start=datetime.combine(t.date(), datetime.min.time(), UTC), end=t + timedelta(seconds=1)
        )
        assert t in day.column("ts").to_pylist()


def test_a_graceful_restart_still_deduplicates_from_the_journal(
    tmp_path: Path, applied: list[pa.Table]
) -> None:
    events = mixed(30)
    first = _ingestor(tmp_path, applied)
    first.start()
    assert first.ingest(events).accepted == 30
    first.stop()  # compacts: the WAL is empty, the ids live on in the seen journal
    assert sorted(logged_ids(tmp_path / "events")) == sorted(e["event_id"] for e in events)
    second = _ingestor(tmp_path, applied)
    second.start()
    try:
        report = second.ingest([*events[:10], order()])
        assert (report.duplicates, report.accepted) == (10, 1)
        assert second.durable.replayed_events == 0
    finally:
        second.stop()
    assert len(logged_ids(tmp_path / "events")) == 31


def test_a_failed_wal_write_accepts_nothing_and_frees_the_ids(
    ingestor: Ingestor, applied: list[pa.Table], tmp_path: Path
) -> None:
    obstacle = tmp_path / "wal" / "lane-0" / segment_name(1)
    obstacle.mkdir()  # the WAL cannot create its next segment
    events = mixed(5)
    with pytest.raises(IngestUnavailableError, match="write-ahead log"):
        ingestor.ingest(events)
    assert applied == []
    obstacle.rmdir()
    assert ingestor.ingest(events).accepted == 5, "the failed claims were released"


def test_a_failing_callback_does_not_fail_the_batch(tmp_path: Path) -> None:
    def broken(_: pa.Table) -> None:
        raise RuntimeError("feature store down")

    seen: list[pa.Table] = []
    service = _ingestor(tmp_path, seen)
    service.on_accepted.insert(0, broken)
    service.start()
    try:
        assert service.ingest(mixed(3)).accepted == 3
        assert len(seen) == 1, "later callbacks still run"
    finally:
        service.stop()


def _wal_batches(root: Path, count: int) -> list[EventBatch]:
    wal = WriteAheadLog(root / "wal" / "lane-0", 1 << 20, first_seq=1)
    batches = []
    for _ in range(count):
        checked = check_events(mixed(20))
        batch = EventBatch(rows_to_table(checked.rows))
        wal.append(batch.to_bytes())
        batches.append(batch)
    wal.close()
    return batches


def test_redis_mode_replay_publishes_each_batch_exactly_once(
    tmp_path: Path, redis_prefix: str, redis_client: redis.Redis
) -> None:
    batches = _wal_batches(tmp_path, 3)
    stream = EventStream(redis.Redis.from_url(REDIS_URL), redis_prefix, "appliers", 1_000)
    stream.publish(batches[1])  # it reached the stream before the crash
    applied: list[pa.Table] = []
    dedupe = RedisDedupe(redis.Redis.from_url(REDIS_URL), redis_prefix, 3600.0, 30.0)
    service = _ingestor(tmp_path, applied, dedupe=dedupe, stream=stream, claim_idle_s=1.0)
    service.start()
    try:
        entries: Any = redis_client.xrange(stream.key)
        published = [EventBatch.from_bytes(fields[PAYLOAD_FIELD]).batch_id for _, fields in entries]
        assert sorted(published) == sorted(b.batch_id for b in batches)
        deadline = time.monotonic() + 10
        while sum(t.num_rows for t in applied) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(i for t in applied for i in t.column("event_id").to_pylist()) == sorted(
            i for b in batches for i in b.table.column("event_id").to_pylist()
        )
        again = [dict(click(), event_id=i) for i in batches[0].table.column("event_id").to_pylist()]
        assert service.ingest(again).duplicates == 20, "the replay committed the ids in Redis"
    finally:
        service.stop()
    assert len(logged_ids(tmp_path / "events")) == 60
    assert EventLog(tmp_path / "events").days() == [date(2026, 9, 18)]
