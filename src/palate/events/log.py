"""The append-only event log: Parquet files partitioned by UTC day, the source of truth.

Layout (hive style, so external tools see a ``day`` partition column)::

    root/day=2024-05-01/part-<ns>-<uuid>.parquet

Files are immutable once visible: every append writes new files under a hidden temporary
name, fsyncs them and renames them into place, so a crash never exposes half a file and
readers never see a partial append of one day. Leftover temporaries are ignored by readers.
Part names start with the write time in nanoseconds so that listing order is append order.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from palate.domain.events import Event, EventType
from palate.events.codec import events_to_table
from palate.events.schema import EVENT_COLUMNS, EVENT_SCHEMA, conform

_US_PER_DAY = 86_400_000_000
_EPOCH = date(1970, 1, 1)
_DAY_PREFIX = "day="
_PART_GLOB = "part-*.parquet"
_TS_TYPE = EVENT_SCHEMA.field("ts").type
_KNOWN_TYPES = frozenset(EventType)


class EventLog:
    """An append-only, day-partitioned Parquet event log rooted at ``root``.

    >>> import tempfile
    >>> from datetime import datetime, UTC
    >>> log = EventLog(Path(tempfile.mkdtemp()))
    >>> ts = [datetime(2024, 5, 1, 23, tzinfo=UTC), datetime(2024, 5, 2, 1, tzinfo=UTC)]
    >>> log.append(pa.table({"event_id": ["a", "b"], "type": ["click"] * 2, "ts": ts}))
    2
    >>> [d.isoformat() for d in log.days()], log.count()
    (['2024-05-01', '2024-05-02'], 2)
    >>> log.read(start=datetime(2024, 5, 2, tzinfo=UTC)).column("event_id").to_pylist()
    ['b']
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"EventLog({str(self.root)!r})"

    # -- writing -----------------------------------------------------------------------------

    def append(self, table: pa.Table) -> int:
        """Append ``table`` (conformed to the event schema); return the number of rows written.

        Rows are split by the UTC day of ``ts`` and each touched day gets one new file, sorted
        by ``ts``. Existing files are never modified. All files are written and fsynced before
        any is renamed into place, so a failed write publishes nothing. Raises ``ValueError``
        on a null ``ts``.
        """
        table = conform(table)
        if table.num_rows == 0:
            return 0
        if table.column("ts").null_count:
            raise ValueError("every event needs a ts to be partitioned by day")
        staged = self._stage(_split_by_day(table))
        for temporary, final in staged:
            temporary.replace(final)
        for directory in {final.parent for _, final in staged}:
            _fsync_dir(directory)
        _fsync_dir(self.root)
        return int(table.num_rows)

    def append_events(self, events: Sequence[Event]) -> int:
        """Append domain events; see :meth:`append`."""
        return self.append(events_to_table(events))

    def _stage(self, parts: list[tuple[date, Callable[[], pa.Table]]]) -> list[tuple[Path, Path]]:
        """Write every part to a hidden temporary; return ``(temporary, final)`` path pairs.

        Parquet encoding releases the GIL, so days are written in parallel threads. If any
        write fails, the temporaries that succeeded are removed and the error re-raised.
        """
        workers = max(1, min(len(parts), os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._write_temporary, day, rows) for day, rows in parts]
            errors = [future.exception() for future in futures]
        staged = [f.result() for f, error in zip(futures, errors, strict=True) if error is None]
        failure = next((error for error in errors if error is not None), None)
        if failure is not None:
            for temporary, _ in staged:
                temporary.unlink(missing_ok=True)
            raise failure
        return staged

    def _write_temporary(self, day: date, rows: Callable[[], pa.Table]) -> tuple[Path, Path]:
        directory = self.root / f"{_DAY_PREFIX}{day.isoformat()}"
        directory.mkdir(parents=True, exist_ok=True)
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:12]}.parquet"
        # A leading dot hides the file from readers until the rename publishes it.
        temporary = directory / f".{name}.tmp"
        try:
            pq.write_table(rows(), temporary, compression="zstd")
            descriptor = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return temporary, directory / name

    # -- listing -----------------------------------------------------------------------------

    def days(self) -> list[date]:
        """The UTC days that hold at least one part file, ascending."""
        return sorted(day for day, _ in self._day_dirs())

    def files(self, start: datetime | None = None, end: datetime | None = None) -> list[Path]:
        """The part files of the days overlapping ``[start, end)``, in day then append order."""
        return [path for _, paths in self._partitions(start, end) for path in paths]

    def count(self) -> int:
        """The number of events in the log, from Parquet footers only."""
        return sum(pq.read_metadata(path).num_rows for path in self.files())

    def time_range(self) -> tuple[datetime, datetime] | None:
        """The earliest and latest ``ts`` in the log, or ``None`` when it is empty."""
        partitions = self._partitions(None, None)
        if not partitions:
            return None
        first = self._read_files(partitions[0][1], ["ts"], None).column("ts")
        last = self._read_files(partitions[-1][1], ["ts"], None).column("ts")
        lo, hi = pc.min(first).as_py(), pc.max(last).as_py()
        return lo.astimezone(UTC), hi.astimezone(UTC)

    # -- reading -----------------------------------------------------------------------------

    def read(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        columns: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
    ) -> pa.Table:
        """Events with ``start <= ts < end`` (either bound optional), sorted by ``ts``.

        Only the partitions of days overlapping the range are opened. ``columns`` projects
        (in the order given), ``types`` keeps only those event types.
        """
        selected = _check_columns(columns)
        row_filter = _row_filter(start, end, types)
        table = self._read_files(self.files(start, end), _with_ts(selected), row_filter)
        return _sorted_by_ts(table).select(selected)

    def iter_batches(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        columns: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        batch_size: int = 65_536,
    ) -> Iterator[pa.RecordBatch]:
        """Stream :meth:`read`'s result as record batches, holding one day in memory at a time."""
        for _, table in self.iter_days(start, end, columns, types):
            yield from table.to_batches(max_chunksize=batch_size)

    def iter_days(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        columns: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
    ) -> Iterator[tuple[date, pa.Table]]:
        """Yield ``(day, events of that day)`` in day order, each as :meth:`read` would return.

        Days whose events are all filtered out are skipped.
        """
        selected = _check_columns(columns)
        row_filter = _row_filter(start, end, types)
        for day, paths in self._partitions(start, end):
            table = self._read_files(paths, _with_ts(selected), row_filter)
            if table.num_rows:
                yield day, _sorted_by_ts(table).select(selected)

    # -- internals ---------------------------------------------------------------------------

    def _day_dirs(self) -> Iterator[tuple[date, Path]]:
        if not self.root.is_dir():
            return
        for directory in self.root.iterdir():
            day = _parse_day(directory.name)
            if day is not None and directory.is_dir() and any(directory.glob(_PART_GLOB)):
                yield day, directory

    def _partitions(
        self, start: datetime | None, end: datetime | None
    ) -> list[tuple[date, list[Path]]]:
        """Each day overlapping ``[start, end)`` with its part files, in day and append order."""
        lo = None if start is None else _utc(start, "start")
        hi = None if end is None else _utc(end, "end")
        return [
            (day, sorted(directory.glob(_PART_GLOB)))
            for day, directory in sorted(self._day_dirs())
            if _day_overlaps(day, lo, hi)
        ]

    @staticmethod
    def _read_files(
        paths: Sequence[Path], columns: list[str] | None, row_filter: pc.Expression | None
    ) -> pa.Table:
        if not paths:
            empty = EVENT_SCHEMA.empty_table()
            return empty if columns is None else empty.select(columns)
        dataset = ds.dataset([str(p) for p in paths], schema=EVENT_SCHEMA, format="parquet")
        return dataset.to_table(columns=columns, filter=row_filter)


def _parse_day(name: str) -> date | None:
    if not name.startswith(_DAY_PREFIX):
        return None
    try:
        return date.fromisoformat(name.removeprefix(_DAY_PREFIX))
    except ValueError:
        return None


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def _day_overlaps(day: date, start: datetime | None, end: datetime | None) -> bool:
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    after_start = start is None or day_start + timedelta(days=1) > start
    before_end = end is None or day_start < end
    return after_start and before_end


def _check_columns(columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(EVENT_COLUMNS)
    unknown = sorted(set(columns) - set(EVENT_COLUMNS))
    if unknown:
        raise ValueError(f"unknown event columns: {unknown}")
    return list(columns)


def _with_ts(columns: list[str]) -> list[str]:
    # Sorting needs ts even when the caller did not ask for it.
    return columns if "ts" in columns else [*columns, "ts"]


def _row_filter(
    start: datetime | None, end: datetime | None, types: Sequence[str] | None
) -> pc.Expression | None:
    conditions: list[pc.Expression] = []
    if start is not None:
        conditions.append(pc.field("ts") >= pa.scalar(_utc(start, "start"), _TS_TYPE))
    if end is not None:
        conditions.append(pc.field("ts") < pa.scalar(_utc(end, "end"), _TS_TYPE))
    if types is not None:
        unknown = sorted(set(types) - _KNOWN_TYPES)
        if unknown:
            raise ValueError(f"unknown event types: {unknown}")
        conditions.append(pc.field("type").isin(pa.array([str(t) for t in types], pa.string())))
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


def _micros(ts: pa.ChunkedArray) -> np.ndarray:
    micros: np.ndarray = ts.cast(pa.int64()).to_numpy()
    return micros


def _split_by_day(table: pa.Table) -> list[tuple[date, Callable[[], pa.Table]]]:
    """One ts-sorted slice per UTC day, each materialised lazily (in a writer thread)."""
    micros = _micros(table.column("ts"))
    order: np.ndarray | None = None
    if np.any(micros[1:] < micros[:-1]):
        order = np.argsort(micros, kind="stable")
        micros = micros[order]
        # Taking from one contiguous chunk per column is several times faster than from many.
        table = table.combine_chunks()
    day_numbers = np.floor_divide(micros, _US_PER_DAY)
    cuts = np.flatnonzero(np.diff(day_numbers)) + 1
    bounds = zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(micros)].tolist(), strict=True)

    def rows(lo: int, hi: int) -> Callable[[], pa.Table]:
        if order is None:
            return lambda: table.slice(lo, hi - lo)
        return lambda: table.take(pa.array(order[lo:hi]))

    return [(_EPOCH + timedelta(days=int(day_numbers[lo])), rows(lo, hi)) for lo, hi in bounds]


def _sorted_by_ts(table: pa.Table) -> pa.Table:
    micros = _micros(table.column("ts"))
    if np.all(micros[1:] >= micros[:-1]):
        return table
    return table.take(pa.array(np.argsort(micros, kind="stable")))


def _fsync_dir(directory: Path) -> None:
    # Makes the renames (and a new day directory) durable, not just the file contents.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
