"""The seen-ids journal: event ids already moved from the WAL into the event log, with when.

Compaction deletes WAL segments, but a client may still retry a batch it sent before a
crash. The memory dedupe store is rebuilt at startup from this journal plus the WAL, so
those retries are still answered ``duplicate``. One file per UTC day and writer lane holds
WAL-framed records (Arrow IPC of ``event_id`` and ``seen_ns``); files older than the dedupe
window are deleted.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from palate.events.wal import MAGIC, frame, fsync_dir, scan_segment

SEEN_SCHEMA = pa.schema([("event_id", pa.string()), ("seen_ns", pa.int64())])
_NS_PER_S = 1_000_000_000


class SeenJournal:
    """Appends and loads seen ids under ``directory``; ``lane`` names this writer's files.

    >>> import tempfile
    >>> journal = SeenJournal(Path(tempfile.mkdtemp()), lane="lane-0")
    >>> now = time.time_ns()
    >>> journal.append(pa.array(["a", "b"]), pa.array([now, now], pa.int64()))
    >>> journal.load(window_s=60.0, max_ids=10).column("event_id").to_pylist()
    ['a', 'b']
    """

    def __init__(self, directory: Path, lane: str) -> None:
        self.directory = Path(directory)
        self.lane = lane
        self._checked: set[Path] = set()

    def append(self, event_ids: pa.Array, seen_ns: pa.Array) -> None:
        """Durably record ids seen at the given times (ns since the epoch)."""
        if len(event_ids) == 0:
            return
        table = pa.Table.from_arrays([event_ids, seen_ns], schema=SEEN_SCHEMA)
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, SEEN_SCHEMA) as writer:
            writer.write_table(table)
        path = self._path_for(datetime.now(UTC))
        self._prepare(path)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(descriptor, frame(sink.getvalue().to_pybytes()))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def _path_for(self, moment: datetime) -> Path:
        return self.directory / f"seen-{moment:%Y%m%d}-{self.lane}.wal"

    def _prepare(self, path: Path) -> None:
        """Create the file, or cut a torn tail a crash left, before the first append to it."""
        if path in self._checked:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(MAGIC)
            fsync_dir(self.directory)
        else:
            scan = scan_segment(path)
            if scan.torn:
                with path.open("r+b") as handle:
                    handle.truncate(max(scan.valid_bytes, len(MAGIC)))
                    if scan.valid_bytes < len(MAGIC):
                        handle.seek(0)
                        handle.write(MAGIC)
                    handle.flush()
                    os.fsync(handle.fileno())
        self._checked.add(path)

    def load(self, window_s: float, max_ids: int) -> pa.Table:
        """Ids seen within the window, oldest first, at most the ``max_ids`` newest."""
        horizon = time.time_ns() - int(window_s * _NS_PER_S)
        tables: list[pa.Table] = []
        rows = 0
        for path in sorted(self._files(), key=lambda p: p.name[5:13], reverse=True):
            batch = _read(path)
            batch = batch.filter(pc.greater_equal(batch.column("seen_ns"), horizon))
            tables.append(batch)
            rows += batch.num_rows
            if rows >= max_ids:
                break
        if not tables:
            return SEEN_SCHEMA.empty_table()
        table = pa.concat_tables(tables).sort_by("seen_ns")
        return table.slice(max(0, table.num_rows - max_ids))

    def prune(self, window_s: float) -> int:
        """Delete files whose whole day is older than the window; how many were deleted."""
        oldest = datetime.now(UTC) - timedelta(seconds=window_s) - timedelta(days=1)
        cutoff = f"{oldest:%Y%m%d}"
        stale = [path for path in self._files() if path.name[5:13] < cutoff]
        for path in stale:
            path.unlink(missing_ok=True)
            self._checked.discard(path)
        return len(stale)

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return list(self.directory.glob("seen-*.wal"))


def _read(path: Path) -> pa.Table:
    records = scan_segment(path).records
    tables = [ipc.open_stream(pa.py_buffer(record)).read_all() for record in records]
    return pa.concat_tables(tables) if tables else SEEN_SCHEMA.empty_table()
