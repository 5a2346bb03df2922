"""Moves sealed WAL segments of one lane into the Parquet event log, crash-safely.

The lane's ``MANIFEST.json`` is the commit point. Compacting segments ``lo..hi``:

1. write the manifest with ``compacting = [lo, hi]`` (the intent);
2. append their events to the :class:`EventLog` (fsync + rename per day file);
3. record all their ids in the :class:`SeenJournal` (for dedupe after a restart);
4. write the manifest with ``compacted_through = hi`` and no intent;
5. delete the segments.

Every manifest write is atomic (temporary file, fsync, rename, directory fsync). A crash
before 1 or after 4 is harmless (step 5 is redone at startup). A crash between 1 and 4 may
have published some day files of step 2: the recovery then appends only the events whose
``event_id`` the log does not already hold in that time range, so nothing is doubled.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from palate.events.batches import EventBatch
from palate.events.log import EventLog
from palate.events.schema import EVENT_SCHEMA
from palate.events.seen import SeenJournal
from palate.events.wal import fsync_dir, list_segments, scan_segment, segment_name

MANIFEST = "MANIFEST.json"
BoolArray = npt.NDArray[np.bool_]
_ONE_US = timedelta(microseconds=1)
_EMPTY = EVENT_SCHEMA.empty_table()


@dataclass(frozen=True, slots=True)
class Manifest:
    """How far a lane has been compacted, and an interrupted compaction if any."""

    compacted_through: int = 0
    compacting: tuple[int, int] | None = None

    @classmethod
    def load(cls, lane: Path) -> Manifest:
        """The lane's manifest; the empty one when it has none yet."""
        path = lane / MANIFEST
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text(encoding="utf-8"))
        compacting = raw.get("compacting")
        return cls(
            compacted_through=int(raw["compacted_through"]),
            compacting=None if compacting is None else (int(compacting[0]), int(compacting[1])),
        )

    def save(self, lane: Path) -> None:
        """Replace the lane's manifest atomically and durably."""
        body = {"compacted_through": self.compacted_through, "compacting": self.compacting}
        temporary = lane / f".{MANIFEST}.tmp"
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(body, handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(lane / MANIFEST)
        fsync_dir(lane)


@dataclass(slots=True)
class Backlog:
    """Uncompacted batches of a lane, in append order, with what the log already holds."""

    segments: list[int] = field(default_factory=list)
    batches: list[EventBatch] = field(default_factory=list)
    in_log: list[BoolArray] = field(default_factory=list)
    torn_segments: int = 0

    @property
    def events(self) -> int:
        """Events in the backlog."""
        return sum(batch.table.num_rows for batch in self.batches)


class LaneCompactor:
    """Compaction and recovery of the WAL lane at ``lane`` into ``log``."""

    def __init__(self, lane: Path, log: EventLog, journal: SeenJournal) -> None:
        self.lane = Path(lane)
        self.log = log
        self.journal = journal
        self.manifest = Manifest.load(self.lane)

    def backlog(self) -> Backlog:
        """Every intact batch of the lane's uncompacted segments.

        Segments an earlier compaction committed but did not delete are deleted now. Only
        the segments of an interrupted compaction can be partly in the log already.
        """
        self._delete_through(self.manifest.compacted_through)
        backlog = Backlog()
        interrupted = self.manifest.compacting
        for seq in list_segments(self.lane):
            scan = scan_segment(self.lane / segment_name(seq))
            backlog.segments.append(seq)
            backlog.torn_segments += int(scan.torn)
            for record in scan.records:
                batch = EventBatch.from_bytes(record)
                backlog.batches.append(batch)
                maybe_logged = interrupted is not None and interrupted[0] <= seq <= interrupted[1]
                backlog.in_log.append(
                    self._logged(batch.table)
                    if maybe_logged
                    else np.zeros(batch.table.num_rows, dtype=np.bool_)
                )
        return backlog

    def compact(self, segments: list[int], backlog: Backlog | None = None) -> int:
        """Move ``segments`` (ascending, all sealed) into the log; the events appended.

        Pass the :meth:`backlog` they were read from to skip events already in the log.
        """
        if not segments:
            return 0
        lo, hi = segments[0], segments[-1]
        self._save(Manifest(self.manifest.compacted_through, (lo, hi)))
        batches, in_log = self._batches_of(segments, backlog)
        # One chunk: kernels and the Parquet writer pay per chunk, and a busy interval of
        # single-event requests leaves thousands of one-row batches.
        events = (
            pa.concat_tables([b.table for b in batches]).combine_chunks() if batches else _EMPTY
        )
        appended = self.log.append(events.filter(pa.array(~in_log)))
        # Every id, also those a crashed compaction had logged: its journal write was lost.
        received = np.repeat([b.received_ns for b in batches], [b.table.num_rows for b in batches])
        self.journal.append(
            events.column("event_id").combine_chunks(), pa.array(received, pa.int64())
        )
        self._save(Manifest(compacted_through=max(hi, self.manifest.compacted_through)))
        self._delete_through(hi)
        return appended

    def _batches_of(
        self, segments: list[int], backlog: Backlog | None
    ) -> tuple[list[EventBatch], BoolArray]:
        """The segments' batches, and which of their events the log already holds."""
        if backlog is not None:
            masks = backlog.in_log or [np.zeros(0, dtype=np.bool_)]
            return backlog.batches, np.concatenate(masks)
        batches = [
            EventBatch.from_bytes(record)
            for seq in segments
            for record in scan_segment(self.lane / segment_name(seq)).records
        ]
        return batches, np.zeros(sum(b.table.num_rows for b in batches), dtype=np.bool_)

    def _logged(self, table: pa.Table) -> BoolArray:
        """Which of ``table``'s events the log holds already (same id, same time range)."""
        if table.num_rows == 0:
            return np.zeros(0, dtype=np.bool_)
        ts = table.column("ts")
        start, end = pc.min(ts).as_py(), pc.max(ts).as_py()
        logged = self.log.read(start=start, end=end + _ONE_US, columns=["event_id"])
        mask = pc.is_in(table.column("event_id"), value_set=logged.column("event_id"))
        result: BoolArray = mask.to_numpy(zero_copy_only=False).astype(np.bool_)
        return result

    def _save(self, manifest: Manifest) -> None:
        manifest.save(self.lane)
        self.manifest = manifest

    def _delete_through(self, seq: int) -> None:
        doomed = [s for s in list_segments(self.lane) if s <= seq]
        for old in doomed:
            (self.lane / segment_name(old)).unlink(missing_ok=True)
        if doomed:
            fsync_dir(self.lane)
