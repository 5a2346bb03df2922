"""The append-only, day-partitioned event log on a real temporary directory."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from palate.events import EVENT_SCHEMA, EventLog, events_to_table, table_to_events
from tests.events.samples import HELSINKI_SUMMER, sample_events, synthetic_table

MAY_1, MAY_2, MAY_3 = date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3)
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _micros(table: pa.Table) -> np.ndarray:
    micros: np.ndarray = table.column("ts").cast(pa.int64()).to_numpy()
    return micros


def _is_sorted(values: np.ndarray) -> bool:
    return bool(np.all(values[1:] >= values[:-1]))


def _fingerprint(path: Path) -> tuple[int, int, str]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_event_type_round_trips_through_the_log(tmp_path: Path) -> None:
    events = sample_events()
    log = EventLog(tmp_path)

    assert log.append_events(events) == len(events)

    by_time = sorted(events, key=lambda e: e.ts)
    assert table_to_events(log.read()) == by_time
    assert log.read().schema == EVENT_SCHEMA


def test_files_are_hive_partitioned_by_utc_day(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append_events(sample_events())

    day_dirs = sorted(p.name for p in tmp_path.iterdir())
    assert day_dirs == ["day=2024-05-01", "day=2024-05-02", "day=2024-05-03"]
    assert log.days() == [MAY_1, MAY_2, MAY_3]
    for directory in tmp_path.iterdir():
        files = list(directory.iterdir())
        assert len(files) == 1
        assert files[0].name.startswith("part-")
        assert files[0].suffix == ".parquet"

    hive = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
    days = pc.cast(hive.column("day"), pa.string()).to_pylist()
    utc_days = [ts.date().isoformat() for ts in hive.column("ts").to_pylist()]
    assert days == utc_days
    # The Helsinki-time click of 2 May 01:10 (+03:00) belongs to 1 May in UTC.
    clicks = log.read(types=["click"], columns=["event_id", "ts"]).to_pylist()
    assert clicks[0]["event_id"] == "clk-1"
    assert clicks[0]["ts"].date() == MAY_1


def test_each_file_is_sorted_by_ts_even_when_the_input_is_not(tmp_path: Path) -> None:
    table = synthetic_table(20_000, days=3, seed=1)
    assert not _is_sorted(_micros(table))
    log = EventLog(tmp_path)

    log.append(table)

    for path in log.files():
        assert _is_sorted(_micros(pq.read_table(path)))
    assert sorted(log.read().column("event_id").to_pylist()) == sorted(
        table.column("event_id").to_pylist()
    )


def test_a_range_read_opens_only_the_days_in_range(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append(synthetic_table(6_000, days=6, seed=2))
    # Corrupt two days outside the range: any read that opened them would fail.
    for day in ("2024-05-01", "2024-05-06"):
        for path in (tmp_path / f"day={day}").glob("part-*.parquet"):
            path.write_bytes(b"not a parquet file")
    with pytest.raises(pa.ArrowInvalid):
        log.read()

    start, end = _at(date(2024, 5, 2), 6), _at(date(2024, 5, 6))
    table = log.read(start, end)

    assert {p.parent.name for p in log.files(start, end)} == {
        "day=2024-05-02",
        "day=2024-05-03",
        "day=2024-05-04",
        "day=2024-05-05",
    }
    micros = _micros(table)
    assert table.num_rows > 0
    assert micros.min() >= start.timestamp() * 1e6
    assert micros.max() < end.timestamp() * 1e6
    assert sum(b.num_rows for b in log.iter_batches(start, end)) == table.num_rows


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_range_reads_match_a_brute_force_filter(tmp_path: Path, seed: int) -> None:
    table = synthetic_table(30_000, days=5, seed=seed)
    log = EventLog(tmp_path)
    log.append(table)
    rng = np.random.default_rng(seed)
    all_micros = _micros(table)
    ids = np.array(table.column("event_id").to_pylist())

    for _ in range(10):
        lo, hi = np.sort(rng.integers(all_micros.min() - 10**9, all_micros.max() + 10**9, 2))
        start = UNIX_EPOCH + timedelta(microseconds=int(lo))
        end = UNIX_EPOCH + timedelta(microseconds=int(hi))
        expected = ids[(all_micros >= lo) & (all_micros < hi)]

        got = log.read(start, end)

        assert sorted(got.column("event_id").to_pylist()) == sorted(expected.tolist())
        assert _is_sorted(_micros(got))


def test_bounds_are_half_open_at_exact_timestamps(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append_events(sample_events())
    # ord-2 is exactly at midnight of 3 May; ord-1 is the last microsecond of 3 May.
    midnight = _at(MAY_3)
    last = datetime(2024, 5, 3, 23, 59, 59, 999999, tzinfo=UTC)

    assert "ord-2" in log.read(start=midnight).column("event_id").to_pylist()
    assert "ord-2" not in log.read(end=midnight).column("event_id").to_pylist()
    assert log.read(start=last).column("event_id").to_pylist() == ["ord-1"]
    assert log.read(end=last).column("event_id").to_pylist()[-1] == "ord-2"
    assert log.read(midnight, midnight).num_rows == 0
    assert log.read(_at(MAY_2, 8), _at(MAY_2, 9)).column("event_id").to_pylist() == [
        "clk-2",
        "atc-1",
        "atc-2",
    ]


def test_bounds_in_other_time_zones_mean_the_same_instant(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append_events(sample_events())
    helsinki = datetime(2024, 5, 2, 11, 5, tzinfo=HELSINKI_SUMMER)
    utc = datetime(2024, 5, 2, 8, 5, tzinfo=UTC)

    assert log.read(start=helsinki).equals(log.read(start=utc))
    assert log.read(end=helsinki).column("event_id").to_pylist()[-1] == "clk-2"


def test_naive_bounds_are_rejected(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append_events(sample_events())

    with pytest.raises(ValueError, match="timezone-aware"):
        log.read(start=datetime(2024, 5, 1))  # noqa: DTZ001 - the point of the test


def test_appending_to_a_day_twice_adds_a_file_and_rewrites_nothing(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    first = synthetic_table(1_000, days=1, seed=6)
    log.append(first)
    [original] = log.files()
    before = _fingerprint(original)
    time.sleep(0.01)

    second = synthetic_table(500, days=1, seed=7)
    second = second.set_column(0, "event_id", pc.binary_join_element_wise("b-", second[0], ""))
    assert log.append(second) == 500

    files = log.files()
    assert len(files) == 2
    assert original in files
    assert _fingerprint(original) == before
    assert log.count() == 1_500
    everything = log.read()
    assert _is_sorted(_micros(everything))
    assert sorted(everything.column("event_id").to_pylist()) == sorted(
        first.column("event_id").to_pylist() + second.column("event_id").to_pylist()
    )


def test_an_empty_log_reads_as_an_empty_table(tmp_path: Path) -> None:
    for log in (EventLog(tmp_path), EventLog(tmp_path / "never-created")):
        assert log.read().schema == EVENT_SCHEMA
        assert log.read().num_rows == 0
        projected = log.read(columns=["user_id", "ts"])
        assert projected.schema == pa.schema(
            [EVENT_SCHEMA.field("user_id"), EVENT_SCHEMA.field("ts")]
        )
        assert log.time_range() is None
        assert log.days() == []
        assert log.count() == 0
        assert list(log.iter_batches()) == []


def test_appending_nothing_writes_nothing(tmp_path: Path) -> None:
    log = EventLog(tmp_path)

    assert log.append(EVENT_SCHEMA.empty_table()) == 0
    assert log.append_events([]) == 0
    assert list(tmp_path.iterdir()) == []


def test_a_null_ts_is_rejected_before_anything_is_written(tmp_path: Path) -> None:
    table = events_to_table(sample_events())
    ts = table.column("ts").to_pylist()
    table = table.set_column(3, "ts", pa.array([*ts[:-1], None], pa.timestamp("us", tz="UTC")))

    with pytest.raises(ValueError, match="ts"):
        EventLog(tmp_path).append(table)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_day_publishes_no_day(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    # A plain file where 2 May's directory belongs makes that day's write fail.
    (tmp_path / "day=2024-05-02").write_text("in the way")

    with pytest.raises(OSError, match="day=2024-05-02"):
        log.append_events(sample_events())

    assert log.files() == []
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent != tmp_path]
    assert leftovers == []


def test_leftover_temporaries_and_foreign_entries_are_ignored(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append_events(sample_events())
    # What a crash mid-append leaves behind: hidden temporaries, maybe in a new day.
    (tmp_path / "day=2024-05-01" / ".part-0-dead.parquet.tmp").write_bytes(b"half")
    (tmp_path / "day=2024-06-01").mkdir()
    (tmp_path / "day=2024-06-01" / ".part-1-dead.parquet.tmp").write_bytes(b"half")
    (tmp_path / "day=garbage").mkdir()
    (tmp_path / "README").write_text("not a partition")

    assert log.days() == [MAY_1, MAY_2, MAY_3]
    assert log.read().num_rows == len(sample_events())
    assert log.count() == len(sample_events())


def test_columns_and_types_project_and_filter(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append_events(sample_events())

    projected = log.read(columns=["user_id", "event_id"])
    assert projected.column_names == ["user_id", "event_id"]
    assert projected.schema.field("user_id") == EVENT_SCHEMA.field("user_id")
    # Still in ts order although ts itself was not asked for.
    assert projected.column("event_id").to_pylist() == [
        e.event_id for e in sorted(sample_events(), key=lambda e: e.ts)
    ]

    orders = log.read(types=["order", "add_to_cart"], columns=["type", "event_id"])
    assert orders.column("event_id").to_pylist() == ["atc-1", "atc-2", "ord-2", "ord-1"]
    assert log.read(types=[]).num_rows == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": ["event_id", "basket"]}, "unknown event columns"),
        ({"types": ["click", "purchase"]}, "unknown event types"),
    ],
)
def test_unknown_columns_and_types_are_errors(
    tmp_path: Path, kwargs: dict[str, list[str]], message: str
) -> None:
    log = EventLog(tmp_path)
    log.append_events(sample_events())

    with pytest.raises(ValueError, match=message):
        log.read(**kwargs)  # type: ignore[arg-type]


def test_iter_batches_streams_day_by_day_what_read_returns(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.append(synthetic_table(10_000, days=4, seed=8))
    start = _at(MAY_1, 12)

    batches = list(log.iter_batches(start=start, columns=["event_id", "ts"], batch_size=700))

    assert all(0 < b.num_rows <= 700 for b in batches)
    assert all(len({ts.date() for ts in b.column("ts").to_pylist()}) == 1 for b in batches), (
        "a batch never spans two days"
    )
    streamed = pa.Table.from_batches(batches)
    assert streamed.equals(log.read(start=start, columns=["event_id", "ts"]).combine_chunks())
    assert [day for day, _ in log.iter_days(start=start)] == log.days()


def test_time_range_and_count_follow_the_data(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    events = sample_events()
    log.append_events(events[3:])
    log.append_events(events[:3])

    assert log.time_range() == (min(e.ts for e in events), max(e.ts for e in events))
    assert log.count() == len(events)


def test_a_million_rows_append_and_read_back(tmp_path: Path) -> None:
    table = synthetic_table(1_000_000, days=30, seed=9)
    log = EventLog(tmp_path)

    began = time.perf_counter()
    written = log.append(table)
    appended = time.perf_counter() - began
    began = time.perf_counter()
    everything = log.read(columns=["ts"])
    read = time.perf_counter() - began

    assert written == log.count() == everything.num_rows == 1_000_000
    _, per_day = np.unique(_micros(table) // 86_400_000_000, return_counts=True)
    assert [pq.read_metadata(p).num_rows for p in log.files()] == per_day.tolist()
    assert _is_sorted(_micros(everything))
    print(f"\n1M rows over 30 days: append {appended:.2f}s, read ts {read:.2f}s")  # noqa: T201


@pytest.mark.benchmark
def test_benchmark_simulator_sized_log(tmp_path: Path) -> None:
    table = synthetic_table(5_000_000, days=60, seed=10, sort=True)
    log = EventLog(tmp_path)
    figures: dict[str, float] = {}

    began = time.perf_counter()
    log.append(table)
    figures["append"] = time.perf_counter() - began
    calls: dict[str, Callable[[], object]] = {
        "read all": lambda: log.read(),
        "read one week": lambda: log.read(_at(date(2024, 5, 10)), _at(date(2024, 5, 17))),
        "read clicks, 2 columns": lambda: log.read(columns=["user_id", "ts"], types=["click"]),
        "iter_batches all": lambda: sum(b.num_rows for b in log.iter_batches()),
    }
    for name, call in calls.items():
        began = time.perf_counter()
        call()
        figures[name] = time.perf_counter() - began

    size = sum(p.stat().st_size for p in log.files()) / 2**20
    report = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in figures.items())
    print(f"\n5M rows / 60 days ({size:.0f} MiB): {report}")  # noqa: T201
    assert log.count() == 5_000_000
