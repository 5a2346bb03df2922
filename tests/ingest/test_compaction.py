"""Compaction of WAL segments into the Parquet event log, including after crashes."""

from __future__ import annotations

import collections
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from palate.events.batches import EventBatch
from palate.events.compaction import Backlog, LaneCompactor, Manifest
from palate.events.durable import DurableLog
from palate.events.ingest_schema import check_events, rows_to_table
from palate.events.log import EventLog
from palate.events.seen import SeenJournal
from palate.events.wal import WriteAheadLog, list_segments, segment_name
from tests.ingest.samples import logged_ids, mixed

DAY_ONE = datetime(2026, 9, 17, 22, tzinfo=UTC)


def _table(count: int, start: datetime, prefix: str) -> pa.Table:
    """``count`` valid events, one minute apart from ``start`` (crossing midnight)."""
    events = mixed(count, prefix)
    for i, event in enumerate(events):
        event["ts"] = (start + timedelta(minutes=7 * i)).isoformat()
    checked = check_events(events)
    assert not checked.errors
    return rows_to_table(checked.rows)


def _write_segments(lane: Path, tables: list[pa.Table], per_segment: int) -> list[EventBatch]:
    """One batch per table, ``per_segment`` batches in each sealed segment."""
    wal = WriteAheadLog(lane, segment_bytes=1 << 30, first_seq=1)
    batches = [EventBatch(table) for table in tables]
    for i, batch in enumerate(batches):
        wal.append(batch.to_bytes())
        if (i + 1) % per_segment == 0:
            wal.roll()
    wal.close()
    return batches


def _compactor(tmp_path: Path) -> LaneCompactor:
    lane = tmp_path / "wal" / "lane-0"
    return LaneCompactor(
        lane, EventLog(tmp_path / "events"), SeenJournal(tmp_path / "seen", "lane-0")
    )


@pytest.fixture
def tables() -> list[pa.Table]:
    return [_table(40, DAY_ONE + timedelta(hours=i), f"b{i}-") for i in range(6)]


def test_compaction_moves_segments_into_the_log_and_deletes_them(
    tmp_path: Path, tables: list[pa.Table]
) -> None:
    lane = tmp_path / "wal" / "lane-0"
    batches = _write_segments(lane, tables, per_segment=2)
    compactor = _compactor(tmp_path)
    segments = list_segments(lane)
    assert segments == [1, 2, 3]
    assert compactor.compact(segments) == 240
    assert list_segments(lane) == []
    assert Manifest.load(lane) == Manifest(compacted_through=3)
    expected = [i for b in batches for i in b.table.column("event_id").to_pylist()]
    assert sorted(logged_ids(tmp_path / "events")) == sorted(expected)
    assert len(EventLog(tmp_path / "events").days()) == 2, "events land on their own UTC day"
    seen = compactor.journal.load(window_s=3600, max_ids=10_000)
    assert sorted(seen.column("event_id").to_pylist()) == sorted(expected)
    assert set(seen.column("seen_ns").to_pylist()) == {b.received_ns for b in batches}


def test_a_crash_after_some_day_files_were_published_does_not_double_events(
    tmp_path: Path, tables: list[pa.Table]
) -> None:
    lane = tmp_path / "wal" / "lane-0"
    batches = _write_segments(lane, tables, per_segment=3)
    log = EventLog(tmp_path / "events")
    # The state a crash inside step 2 leaves: intent recorded, one day's file published.
    Manifest(compacted_through=0, compacting=(1, 2)).save(lane)
    everything = pa.concat_tables([b.table for b in batches])
    first_day = everything.filter(
        pc.less(everything.column("ts"), pa.scalar(datetime(2026, 9, 18, tzinfo=UTC)))
    )
    assert 0 < first_day.num_rows < everything.num_rows
    log.append(first_day)

    restarted = _compactor(tmp_path)
    backlog = restarted.backlog()
    assert sum(int(mask.sum()) for mask in backlog.in_log) == first_day.num_rows
    appended = restarted.compact(backlog.segments, backlog)
    assert appended == everything.num_rows - first_day.num_rows
    ids = logged_ids(tmp_path / "events")
    assert len(ids) == len(set(ids)) == everything.num_rows
    assert Manifest.load(lane) == Manifest(compacted_through=2)
    journaled = restarted.journal.load(window_s=3600, max_ids=10_000).column("event_id")
    assert sorted(journaled.to_pylist()) == sorted(ids), "ids logged before the crash too"


def test_a_crash_after_the_commit_only_deletes_the_leftover_segments(
    tmp_path: Path, tables: list[pa.Table]
) -> None:
    lane = tmp_path / "wal" / "lane-0"
    _write_segments(lane, tables, per_segment=2)
    compactor = _compactor(tmp_path)
    compactor.compact([1, 2])
    # Put segment 1 back, as if the crash came between the manifest and the deletion.
    (lane / segment_name(1)).write_bytes((lane / segment_name(3)).read_bytes())
    restarted = _compactor(tmp_path)
    backlog = restarted.backlog()
    assert backlog.segments == [3]
    assert (lane / segment_name(1)).exists() is False
    restarted.compact(backlog.segments, backlog)
    ids = logged_ids(tmp_path / "events")
    assert len(ids) == len(set(ids)) == 240


def test_a_torn_tail_is_skipped_by_the_backlog(tmp_path: Path, tables: list[pa.Table]) -> None:
    lane = tmp_path / "wal" / "lane-0"
    batches = _write_segments(lane, tables[:3], per_segment=10)
    path = lane / segment_name(1)
    path.write_bytes(path.read_bytes()[:-100])
    backlog = _compactor(tmp_path).backlog()
    assert backlog.torn_segments == 1
    assert [b.batch_id for b in backlog.batches] == [b.batch_id for b in batches[:2]]


def test_open_replays_and_compacts_this_lane_and_abandoned_ones(
    tmp_path: Path, tables: list[pa.Table]
) -> None:
    root = tmp_path / "wal"
    mine = _write_segments(root / "lane-0", tables[:2], per_segment=1)
    orphan = _write_segments(root / "lane-3", tables[2:5], per_segment=2)
    replayed: list[Backlog] = []
    durable = DurableLog(root, EventLog(tmp_path / "events"), 1 << 20, 60.0, 3600.0)
    durable.open(replayed.append)
    try:
        assert durable.lane == "lane-0"
        ids = [b.batch_id for backlog in replayed for b in backlog.batches]
        assert collections.Counter(ids) == collections.Counter(b.batch_id for b in orphan + mine)
        assert list_segments(root / "lane-0") == []
        assert list_segments(root / "lane-3") == []
        assert len(logged_ids(tmp_path / "events")) == 200
        assert durable.append(EventBatch(tables[5]).to_bytes()) == 3, "numbering continues"
        assert durable.compact() == 40
        seen = durable.seen_ids(max_ids=1_000)
        assert seen.num_rows == 240
    finally:
        durable.close()
