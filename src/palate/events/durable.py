"""The durable ingest log of one process: its WAL lane, compaction, and crash recovery.

:meth:`DurableLog.open` locks a lane, hands every batch a previous run left uncompacted
(in this lane, and in lanes whose process is gone) to a ``replay`` callback, compacts them
into the Parquet :class:`EventLog`, and opens the WAL for appends. A background thread then
seals and compacts the WAL every ``compact_interval_s``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from palate.events.compaction import Backlog, LaneCompactor
from palate.events.lanes import Lane, lane_dirs
from palate.events.log import EventLog
from palate.events.seen import SeenJournal
from palate.events.wal import WriteAheadLog

log = logging.getLogger("palate.ingest")

SEEN_DIR = "seen"
Replay = Callable[[Backlog], None]
Hold = Callable[[], int | None]


class DurableLog:
    """Appends fsynced batches; moves them into ``log`` in the background; recovers on open."""

    def __init__(
        self,
        wal_root: Path,
        log: EventLog,
        segment_bytes: int,
        compact_interval_s: float,
        dedupe_window_s: float,
    ) -> None:
        self.wal_root = Path(wal_root)
        self.log = log
        self.segment_bytes = segment_bytes
        self.compact_interval_s = compact_interval_s
        self.dedupe_window_s = dedupe_window_s
        self.replayed_events = 0
        self.compacted_events = 0
        self._lane: Lane | None = None
        self._wal: WriteAheadLog | None = None
        self._compactor: LaneCompactor | None = None
        self._compact_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lane(self) -> str:
        """The name of this process's lane."""
        return "" if self._lane is None else self._lane.path.name

    def open(self, replay: Replay) -> None:
        """Lock a lane, recover it and any abandoned lane, and get ready to append."""
        self.wal_root.mkdir(parents=True, exist_ok=True)
        self._lane = Lane.acquire(self.wal_root)
        for other in lane_dirs(self.wal_root):
            if other != self._lane.path:
                self._adopt(other, replay)
        self._compactor = self._recover(self._lane, replay)
        first_seq = self._compactor.manifest.compacted_through + 1
        self._wal = WriteAheadLog(self._lane.path, self.segment_bytes, first_seq=first_seq)

    def _adopt(self, path: Path, replay: Replay) -> None:
        orphan = Lane.try_lock(path)
        if orphan is None:
            return  # a live process owns it
        try:
            self._recover(orphan, replay)
        finally:
            orphan.release()

    def _recover(self, lane: Lane, replay: Replay) -> LaneCompactor:
        compactor = LaneCompactor(lane.path, self.log, self._journal(lane))
        backlog = compactor.backlog()
        if backlog.batches:
            log.info(
                "replaying write-ahead log",
                extra={
                    "lane": str(lane.path),
                    "events": backlog.events,
                    "torn": backlog.torn_segments,
                },
            )
            replay(backlog)
            self.replayed_events += backlog.events
        compactor.compact(backlog.segments, backlog)
        return compactor

    def _journal(self, lane: Lane) -> SeenJournal:
        return SeenJournal(self.wal_root / SEEN_DIR, lane.path.name)

    def seen_ids(self, max_ids: int) -> pa.Table:
        """Ids already compacted within the dedupe window (``event_id``, ``seen_ns``)."""
        return SeenJournal(self.wal_root / SEEN_DIR, self.lane).load(self.dedupe_window_s, max_ids)

    def append(self, payload: bytes) -> int:
        """Fsync one encoded :class:`EventBatch`; the number of the segment that holds it."""
        return self._open_wal().append(payload)

    def compact(self, hold: int | None = None) -> int:
        """Seal the active segment and compact the sealed ones below ``hold``; events moved."""
        wal, compactor = self._open_wal(), self._compactor
        assert compactor is not None  # noqa: S101 - set together with the WAL
        with self._compact_lock:
            wal.roll()
            sealed = [seq for seq in wal.sealed_segments() if hold is None or seq < hold]
            moved = compactor.compact(sealed)
            self.compacted_events += moved
            compactor.journal.prune(self.dedupe_window_s)
        return moved

    def start(self, hold: Hold, tick: Callable[[], None] | None = None) -> None:
        """Compact every interval in a daemon thread; ``tick`` runs first on each round."""

        def loop() -> None:
            while not self._stop.wait(self.compact_interval_s):
                try:
                    if tick is not None:
                        tick()
                    self.compact(hold())
                except Exception:
                    log.exception("write-ahead log compaction failed; will retry")

        self._thread = threading.Thread(target=loop, name="palate-wal-compactor", daemon=True)
        self._thread.start()

    def close(self, hold: int | None = None) -> None:
        """Stop the thread, compact what may be compacted, and release the lane."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._wal is not None:
            try:
                self.compact(hold)
            finally:
                self._wal.close()
        if self._lane is not None:
            self._lane.release()

    def _open_wal(self) -> WriteAheadLog:
        if self._wal is None:
            raise RuntimeError("the durable log is not open")
        return self._wal
