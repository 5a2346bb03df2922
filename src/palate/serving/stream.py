"""Redis Streams fan-out: accepted batches go to one stream; a consumer group applies them.

Every server process publishes the batches it accepts (one entry per batch, the binary
:class:`EventBatch`) and runs a :class:`StreamWorker` in the group: each entry is applied by
exactly one worker of the fleet (``XREADGROUP``), acknowledged only once applied (``XACK``),
and entries a dead worker had read but not acknowledged are claimed by a live one after
``claim_idle_s`` (``XAUTOCLAIM``). So shared state (the Redis feature store) learns about
an event whichever replica accepted it. The entries of one read are applied as one group when
the worker is given a group applier: a feature write costs mostly the same for one event as
for hundreds, so a busy stream is applied in few writes. After a read that did not fill up the
worker waits ``pace_s`` (``[ingest] apply_interval_s``) so that the next read holds a group.

Keys share the hash tag ``{events}`` so that the stream and its publish markers live in
one cluster slot and are written in one ``MULTI``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import redis

from palate.events.batches import EventBatch

log = logging.getLogger("palate.ingest.stream")

PAYLOAD_FIELD = b"b"
# A publish marker only has to outlive a crashed process's downtime: it tells the restart
# which batches of its uncompacted WAL tail reached the stream before the crash.
MARKER_TTL_S = 6 * 3600
Apply = Callable[[EventBatch], None]
# Applies several batches as one, all or nothing (it raises before applying any, or not at all).
ApplyMany = Callable[[Sequence[EventBatch]], None]


def consumer_name() -> str:
    """A name unique to this process (host, pid and a random suffix)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class EventStream:
    """Publishing to, and the names of, the event stream under ``key_prefix``."""

    def __init__(self, client: redis.Redis, key_prefix: str, group: str, maxlen: int) -> None:
        self.client = client
        self.key = f"{key_prefix}:{{events}}:stream"
        self.marker_prefix = f"{key_prefix}:{{events}}:batch:"
        self.group = group
        self.maxlen = maxlen

    def publish(self, batch: EventBatch, payload: bytes | None = None) -> None:
        """``XADD`` the batch and set its publish marker, atomically."""
        data = batch.to_bytes() if payload is None else payload
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(self.key, {PAYLOAD_FIELD: data}, maxlen=self.maxlen, approximate=True)
        pipe.set(self.marker_prefix + batch.batch_key, b"1", ex=MARKER_TTL_S)
        pipe.execute()

    def published(self, batches: Sequence[EventBatch]) -> list[bool]:
        """Whether each batch's marker is present (one round trip)."""
        if not batches:
            return []
        pipe = self.client.pipeline(transaction=False)
        for batch in batches:
            pipe.exists(self.marker_prefix + batch.batch_key)
        return [bool(found) for found in pipe.execute()]

    def ensure_group(self) -> None:
        """Create the consumer group (and the stream) unless it exists.

        The group starts at the stream's beginning so that entries published before any
        worker ran are applied too.
        """
        try:
            self.client.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def info(self) -> dict[str, int]:
        """Length of the stream, and the group's pending entries and lag."""
        length = int(self.client.xlen(self.key))
        for group in self.client.xinfo_groups(self.key):
            if _text(group.get("name")) == self.group:
                lag = group.get("lag")
                return {
                    "length": length,
                    "pending": int(group.get("pending", 0)),
                    "lag": -1 if lag is None else int(lag),
                }
        return {"length": length, "pending": 0, "lag": -1}


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class StreamWorker:
    """One consumer of the group, in a daemon thread: read, apply, acknowledge, claim."""

    def __init__(
        self,
        stream: EventStream,
        apply: Apply,
        claim_idle_s: float,
        consumer: str | None = None,
        block_ms: int = 500,
        count: int = 32,
        apply_many: ApplyMany | None = None,
        pace_s: float = 0.0,
    ) -> None:
        self.stream = stream
        self.apply = apply
        self.apply_many = apply_many
        self.pace_s = pace_s  # after a read that was not full, wait this long before the next
        self.claim_idle_ms = max(1, int(claim_idle_s * 1000))
        self.consumer = consumer or consumer_name()
        self.block_ms = block_ms
        self.count = count
        self.applied_batches = 0
        self.applied_events = 0
        self.claimed_entries = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Create the group if needed and start consuming."""
        self.stream.ensure_group()
        self._thread = threading.Thread(target=self._run, name="palate-stream", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the current read (at most ``block_ms``) and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        next_claim = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_claim:
                    self.claim_stale()
                    next_claim = time.monotonic() + self.claim_idle_ms / 2000
                if 0 < self.poll() < self.count:  # not a full read: let the next one fill
                    self._stop.wait(self.pace_s)
            except redis.RedisError:
                log.exception("event stream unavailable; retrying")
                self._stop.wait(1.0)

    def poll(self) -> int:
        """Read new entries (blocking up to ``block_ms``), apply and acknowledge them."""
        replies: Any = self.stream.client.xreadgroup(
            self.stream.group,
            self.consumer,
            {self.stream.key: ">"},
            count=self.count,
            block=self.block_ms,
        )
        entries = [entry for _, stream_entries in replies or [] for entry in stream_entries]
        return self._handle(entries)

    def claim_stale(self) -> int:
        """Take over entries other consumers read but left unacknowledged too long."""
        start, handled = "0-0", 0
        while True:
            reply = self.stream.client.xautoclaim(
                self.stream.key,
                self.stream.group,
                self.consumer,
                min_idle_time=self.claim_idle_ms,
                start_id=start,
                count=self.count,
            )
            start, entries = reply[0], reply[1]
            self.claimed_entries += len(entries)
            handled += self._handle(entries)
            if _text(start) == "0-0" or not entries:
                return handled

    def _handle(self, entries: Sequence[Any]) -> int:
        done: list[Any] = []
        decoded: list[tuple[Any, EventBatch]] = []
        for entry_id, fields in entries:
            batch = self._decode(entry_id, fields)
            if batch is None:
                done.append(entry_id)  # trimmed before anyone applied it, or undecodable
            else:
                decoded.append((entry_id, batch))
        if self._apply_group([batch for _, batch in decoded]):
            done.extend(entry_id for entry_id, _ in decoded)
        else:
            done.extend(self._apply_each(decoded))
        if done:
            self.stream.client.xack(self.stream.key, self.stream.group, *done)
        return len(done)

    @staticmethod
    def _decode(entry_id: Any, fields: Any) -> EventBatch | None:
        if fields is None:
            return None
        try:
            return EventBatch.from_bytes(fields[PAYLOAD_FIELD])
        except (KeyError, ValueError):
            log.exception("dropping an undecodable stream entry", extra={"entry": entry_id})
            return None

    def _apply_group(self, batches: list[EventBatch]) -> bool:
        """Every batch of one read applied at once (a feature write's cost is mostly fixed);
        False when there is no group applier, one batch, or the group failed."""
        if self.apply_many is None or len(batches) < 2:
            return False
        try:
            self.apply_many(batches)
        except Exception:
            log.exception("applying a group of streamed batches failed; one at a time instead")
            return False
        self.applied_batches += len(batches)
        self.applied_events += sum(batch.table.num_rows for batch in batches)
        return True

    def _apply_each(self, decoded: list[tuple[Any, EventBatch]]) -> list[Any]:
        done = []
        for entry_id, batch in decoded:
            try:
                self.apply(batch)
            except Exception:
                # Left pending: redelivered by XAUTOCLAIM once idle for claim_idle_s.
                self.failures += 1
                log.exception("applying a streamed batch failed", extra={"entry": entry_id})
                continue
            self.applied_batches += 1
            self.applied_events += batch.table.num_rows
            done.append(entry_id)
        return done
