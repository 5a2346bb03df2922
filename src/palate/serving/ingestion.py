"""The Ingestor: validate each event, drop duplicates, make the rest durable, then apply them.

Per batch: every event is validated on its own; repeats within the batch and event ids the
dedupe store has seen are ``duplicate``; the new ones are claimed, fsynced into the WAL as
one record, committed as seen, and only then acknowledged ``accepted``. Without Redis the
``on_accepted`` callbacks run on groups of batches (:mod:`group_apply`): before the reply
when ``ingest.read_your_writes`` is set, so the next ranking sees the events, otherwise
within ``ingest.apply_interval_s`` plus one apply. With Redis the batch is published to the
event stream and the consumer group applies it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import redis

from palate.catalog.positions import venue_positions
from palate.events.batches import EventBatch
from palate.events.compaction import Backlog
from palate.events.dedupe.protocol import ClaimState, DedupeStore
from palate.events.dedupe.registry import build_dedupe
from palate.events.durable import DurableLog
from palate.events.ingest_schema import FieldError, check_events, rows_to_table
from palate.events.log import EventLog
from palate.observability.metrics import Metrics
from palate.serving.group_apply import GroupApplier
from palate.serving.ingest_report import (
    ACCEPTED,
    COUNTED,
    DUPLICATE,
    IN_FLIGHT,
    REJECTED,
    IngestReport,
    IngestUnavailableError,
    raw_event_id,
    rejection,
)
from palate.serving.state import EVENTS_DIR, ServingState
from palate.serving.stream import EventStream, StreamWorker
from palate.settings import Settings

log = logging.getLogger("palate.ingest")

OnAccepted = Callable[[pa.Table], None]
KnownVenue = Callable[[pa.Array], npt.NDArray[np.bool_]]


class Ingestor:
    """``POST /v1/events`` behind HTTP; :meth:`start` before use, :meth:`stop` at shutdown."""

    def __init__(
        self,
        durable: DurableLog,
        dedupe: DedupeStore,
        on_accepted: Sequence[OnAccepted] = (),
        known_venue: KnownVenue | None = None,
        metrics: Metrics | None = None,
        stream: EventStream | None = None,
        claim_idle_s: float = 30.0,
        dedupe_max_ids: int = 2_000_000,
        apply_interval_s: float = 0.0,
        read_your_writes: bool = True,
    ) -> None:
        self.durable = durable
        self.dedupe = dedupe
        self.on_accepted = list(on_accepted)
        self.known_venue = known_venue
        self.metrics = metrics or Metrics()
        self.stream = stream
        self.dedupe_max_ids = dedupe_max_ids
        self.read_your_writes = read_your_writes
        self.worker = (
            None
            if stream is None
            else StreamWorker(
                stream,
                self._apply,
                claim_idle_s,
                apply_many=self._apply_many,
                pace_s=apply_interval_s,
            )
        )
        self.counts = dict.fromkeys(
            ("accepted", "duplicates", "rejected", "applied", "unknown_venue"), 0
        )
        self._count_lock = threading.Lock()
        self._group = GroupApplier(self._apply_now, apply_interval_s)
        self._unpublished: dict[bytes, tuple[int, EventBatch]] = {}
        self._unpublished_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Replay and compact the WAL, refill the dedupe store, start the background work."""
        self.durable.open(self._replay)
        if not self.dedupe.survives_restart:
            # The journal holds every compacted id, the replayed backlog's included.
            seen = self.durable.seen_ids(self.dedupe_max_ids)
            ids = seen.column("event_id").to_pylist()
            self.dedupe.commit(ids, seen.column("seen_ns").to_numpy())
        self.durable.start(hold=self._hold, tick=self.retry_publish)
        if self.stream is None:
            self._group.start()
        if self.worker is not None:
            self.worker.start()

    def stop(self) -> None:
        """Stop consuming, publish what can be, compact, and release the WAL lane."""
        if self.worker is not None:
            self.worker.stop()
        self._group.stop()  # what was accepted reaches the features before we go
        try:
            self.retry_publish()
        except redis.RedisError:
            log.warning("unpublished batches stay in the write-ahead log for the next start")
        self.durable.close(self._hold())
        self.dedupe.close()
        if self.stream is not None:
            self.stream.client.close()

    def _replay(self, backlog: Backlog) -> None:
        """Batches a previous run made durable: apply or publish them, mark their ids seen."""
        if self.dedupe.survives_restart:
            # Claims a crash left pending become seen (a memory store is refilled later).
            for batch in backlog.batches:
                ids = batch.table.column("event_id").to_pylist()
                self.dedupe.commit(ids, np.full(len(ids), batch.received_ns, dtype=np.int64))
        if self.stream is None:
            # What the event log already held was loaded with it at startup.
            for batch, in_log in zip(backlog.batches, backlog.in_log, strict=True):
                self._apply(EventBatch(batch.table.filter(pa.array(~in_log)), batch.batch_id))
            return
        published = self.stream.published(backlog.batches)
        for batch, done in zip(backlog.batches, published, strict=True):
            if not done:
                self.stream.publish(batch)

    # -- the hot path ----------------------------------------------------------------------------

    def ingest(self, raw_events: Sequence[object], wait: bool | None = None) -> IngestReport:
        """Validate, deduplicate, persist and queue one batch; raises IngestUnavailableError.

        ``wait`` (default ``read_your_writes``; memory mode): return once it is applied too.
        """
        checked = check_events(raw_events)
        results: list[dict[str, Any]] = [{}] * len(raw_events)
        for position, errors in checked.errors.items():
            results[position] = {
                "event_id": raw_event_id(raw_events[position]),
                **rejection(errors),
            }
        token = uuid.uuid4().hex
        fresh_rows, fresh_positions = self._claim(checked.rows, checked.positions, results, token)
        ticket = 0
        if fresh_rows:
            table = rows_to_table(fresh_rows)
            ids = [row["event_id"] for row in fresh_rows]
            ticket = self._persist(EventBatch(table), ids, token)
        for position, row in zip(fresh_positions, fresh_rows, strict=True):
            results[position] = {"event_id": row["event_id"], "status": ACCEPTED}
        if ticket and (self.read_your_writes if wait is None else wait):
            self._group.wait(ticket)
        return self._report(results, ticket)

    async def applied(self, report: IngestReport) -> None:
        """Return once the report's accepted events are applied, holding no thread meanwhile."""
        if report.apply_ticket:
            await self._group.applied(report.apply_ticket)

    def _claim(
        self,
        rows: list[dict[str, Any]],
        positions: list[int],
        results: list[dict[str, Any]],
        token: str,
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """Mark repeats and seen ids; the rows this request now owns, with their positions."""
        first: dict[str, int] = {}
        for k, row in enumerate(rows):
            event_id = row["event_id"]
            if event_id in first:
                results[positions[k]] = {"event_id": event_id, "status": DUPLICATE}
            else:
                first[event_id] = k
        try:
            states = self.dedupe.claim(list(first), token) if first else np.empty(0, np.uint8)
        except Exception as error:
            raise IngestUnavailableError(f"dedupe store unavailable: {error}") from error
        fresh_rows, fresh_positions = [], []
        for (event_id, k), state in zip(first.items(), states.tolist(), strict=True):
            if state == ClaimState.NEW:
                fresh_rows.append(rows[k])
                fresh_positions.append(positions[k])
            elif state == ClaimState.SEEN:
                results[positions[k]] = {"event_id": event_id, "status": DUPLICATE}
            else:
                field_name = f"events[{positions[k]}].event_id"
                results[positions[k]] = {
                    "event_id": event_id,
                    **rejection([FieldError(field_name, IN_FLIGHT)]),
                }
        return fresh_rows, fresh_positions

    def _persist(self, batch: EventBatch, event_ids: list[str], token: str) -> int:
        """Fsync, commit the ids as seen, then queue (memory: its apply ticket) or publish (0)."""
        payload = batch.to_bytes()
        try:
            segment = self.durable.append(payload)
        except Exception as error:
            self.dedupe.release(event_ids, token)
            raise IngestUnavailableError(f"write-ahead log unavailable: {error}") from error
        try:
            self.dedupe.commit(event_ids)
        except Exception:
            # The events are durable, so they are accepted; a retry after the claims expire
            # (pending_ttl_s) could be accepted twice.
            log.exception("could not commit event ids as seen")
        if self.stream is None:
            return self._group.submit(batch.table)
        try:
            self.stream.publish(batch, payload)
        except redis.RedisError:
            log.exception("event stream unavailable; the batch will be published later")
            with self._unpublished_lock:
                self._unpublished[batch.batch_id] = (segment, batch)
        return 0

    def _apply(self, batch: EventBatch) -> None:
        """Run the callbacks on the batch, grouped with others (see :mod:`group_apply`)."""
        if batch.table.num_rows:
            self._group.apply(batch.table)

    def _apply_many(self, batches: Sequence[EventBatch]) -> None:
        """Several streamed batches as one group (callback errors are logged, not raised)."""
        tables = [batch.table for batch in batches if batch.table.num_rows]
        if tables:
            self._group.apply(pa.concat_tables(tables))

    def _apply_now(self, table: pa.Table) -> None:
        """The callbacks, one group at a time (they need not be thread-safe)."""
        path = "sync" if self.stream is None else "stream"
        for callback in self.on_accepted:
            try:
                callback(table)
            except Exception:
                log.exception("an on_accepted callback failed", extra={"path": path})
        self.metrics.events_applied.labels(path).inc(table.num_rows)
        with self._count_lock:
            self.counts["applied"] += table.num_rows
        # Counted per group rather than per request: the lookup has a fixed cost too.
        self._count_unknown_venues(table)

    def wait_applied(self) -> None:
        """Return once every batch accepted so far (memory mode) is applied to the features."""
        self._group.wait()

    def _count_unknown_venues(self, table: pa.Table) -> None:
        if self.known_venue is None:
            return
        venues = pc.drop_null(table.column("venue_id")).combine_chunks()
        if len(venues) == 0:
            return
        unknown = int(len(venues) - np.count_nonzero(self.known_venue(venues)))
        if unknown:
            self.metrics.unknown_venue.inc(unknown)
            with self._count_lock:
                self.counts["unknown_venue"] += unknown

    def _report(self, results: list[dict[str, Any]], ticket: int) -> IngestReport:
        statuses = [result["status"] for result in results]
        report = IngestReport(
            results=results,
            accepted=statuses.count(ACCEPTED),
            duplicates=statuses.count(DUPLICATE),
            rejected=statuses.count(REJECTED),
            apply_ticket=ticket,
        )
        outcomes = {
            ACCEPTED: report.accepted,
            DUPLICATE: report.duplicates,
            REJECTED: report.rejected,
        }
        with self._count_lock:
            for status, n in outcomes.items():
                self.counts[COUNTED[status]] += n
        for status, n in outcomes.items():
            self.metrics.events.labels(status).inc(n)
        return report

    # -- background ------------------------------------------------------------------------------

    def _hold(self) -> int | None:
        """The lowest WAL segment compaction must keep (it holds unpublished batches)."""
        with self._unpublished_lock:
            return min((seq for seq, _ in self._unpublished.values()), default=None)

    def retry_publish(self) -> None:
        """Publish the batches the stream refused earlier, oldest first."""
        if self.stream is None:
            return
        with self._unpublished_lock:
            waiting = sorted(self._unpublished.items(), key=lambda item: item[1][0])
        for batch_id, (_, batch) in waiting:
            self.stream.publish(batch)
            with self._unpublished_lock:
                self._unpublished.pop(batch_id, None)

    def stats(self) -> dict[str, Any]:
        """Counts since start, the WAL's state, and the stream's when Redis is used."""
        with self._count_lock:
            counts = dict(self.counts)
        body: dict[str, Any] = {
            "mode": "memory" if self.stream is None else "redis",
            "dedupe": type(self.dedupe).__name__,
            "lane": self.durable.lane,
            **counts,
            "replayed": self.durable.replayed_events,
            "compacted": self.durable.compacted_events,
            "unpublished_batches": len(self._unpublished),
            "pending_apply_batches": self._group.pending,
        }
        if self.stream is not None and self.worker is not None:
            try:
                shared: dict[str, Any] = self.stream.info()
            except redis.RedisError as error:
                shared = {"error": str(error)}
            body["stream"] = {
                "consumer": self.worker.consumer,
                "claimed_entries": self.worker.claimed_entries,
                **shared,
            }
        return body


# -- wiring --------------------------------------------------------------------------------------


def wal_root(settings: Settings) -> Path:
    """``[ingest] wal_dir``, or ``<data.dir>/wal`` when it is empty."""
    return Path(settings.ingest.wal_dir) if settings.ingest.wal_dir else settings.data.dir / "wal"


def build_ingestor(
    settings: Settings,
    state: ServingState,
    metrics: Metrics,
    on_accepted: Sequence[OnAccepted] = (),
) -> Ingestor:
    """The Ingestor the settings describe: memory mode, or Redis mode when a URL is set."""
    ingest, shared = settings.ingest, settings.redis
    durable = DurableLog(
        wal_root(settings),
        EventLog(settings.data.dir / EVENTS_DIR),
        segment_bytes=ingest.segment_bytes,
        compact_interval_s=ingest.compact_interval_s,
        dedupe_window_s=ingest.dedupe_window_s,
    )
    stream = None
    if shared.url:
        client = redis.Redis.from_url(shared.url)
        stream = EventStream(client, shared.key_prefix, shared.consumer_group, shared.stream_maxlen)

    def known_venue(venue_ids: pa.Array) -> npt.NDArray[np.bool_]:
        # Read the index at call time: catalog upserts grow it while serving.
        known: npt.NDArray[np.bool_] = venue_positions(state.index, venue_ids) >= 0
        return known

    return Ingestor(
        durable,
        build_dedupe(ingest, shared),
        on_accepted=on_accepted,
        known_venue=known_venue,
        metrics=metrics,
        stream=stream,
        claim_idle_s=shared.claim_idle_s,
        dedupe_max_ids=ingest.dedupe_max_ids,
        apply_interval_s=ingest.apply_interval_s,
        read_your_writes=ingest.read_your_writes,
    )
