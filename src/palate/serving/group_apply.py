"""Group application of accepted event batches: many requests' events, one feature write.

Applying a batch to the online features has a fixed cost (a dozen columnar feature write
paths, milliseconds) that dwarfs its per-event cost, so applying each single-event request on
its own made ingestion slow exactly when traffic was high. Batches are queued here and the
queue is applied as one table, at most once every ``interval_s``: a batch arriving after a
quiet spell is applied at once, so grouping adds no delay when idle, while under load each
group holds every batch accepted during the previous interval.

* :meth:`GroupApplier.apply` applies the queue now, unpaced, and returns once its batch is
  applied (for the stream worker, which acknowledges entries only after this, and the WAL
  replay at startup: both hand over batches one at a time, and pacing them would crawl);
* :meth:`GroupApplier.submit` returns a ticket at once; the background thread (:meth:`start`)
  applies the batch within ``interval_s`` plus one apply. :meth:`wait` blocks until a ticket
  is applied, :meth:`applied` awaits it without holding a thread (an HTTP request that wants
  read-your-writes waits there, so hundreds of waiting requests cost no threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable

import pyarrow as pa

log = logging.getLogger("palate.ingest")


class GroupApplier:
    """Serialises ``apply`` over concatenated groups of the queued tables.

    >>> seen = []
    >>> group = GroupApplier(lambda table: seen.append(table.num_rows))
    >>> group.apply(pa.table({"x": [1, 2]})); seen
    [2]
    """

    def __init__(self, apply: Callable[[pa.Table], None], interval_s: float = 0.0) -> None:
        self._apply = apply
        self.interval_s = interval_s
        self._apply_lock = threading.Lock()  # held while a group is being applied
        self._cond = threading.Condition()  # guards the fields below; notified after each group
        self._queue: list[pa.Table] = []
        self._queued = 0  # tickets handed out; ticket n is the n-th table queued
        self._applied = 0  # every ticket up to this one has been applied (or failed)
        self._next_at = 0.0  # monotonic time before which no new group starts
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []  # of :meth:`applied`
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.groups = 0

    @property
    def pending(self) -> int:
        """Tables queued and not yet applied."""
        with self._cond:
            return self._queued - self._applied

    def apply(self, table: pa.Table) -> None:
        """Return once ``table`` has been applied, by this thread or in another's group."""
        self._drain_until(self._enqueue(table), paced=False)

    def submit(self, table: pa.Table) -> int:
        """Queue ``table`` and return its ticket; applied at once when no thread runs."""
        ticket = self._enqueue(table)
        if self._thread is None:
            self._drain_until(ticket)
        return ticket

    def wait(self, ticket: int | None = None) -> None:
        """Return once ``ticket`` (default: every table queued so far) has been applied."""
        if ticket is None:
            with self._cond:
                ticket = self._queued
        self._drain_until(ticket)

    async def applied(self, ticket: int) -> None:
        """Return once ``ticket`` has been applied, without holding a thread meanwhile."""
        if self._thread is None:  # nobody else would apply it
            await asyncio.to_thread(self.wait, ticket)
            return
        future = asyncio.get_running_loop().create_future()
        with self._cond:
            if self._applied >= ticket:
                return
            self._waiters.append((ticket, future))
        await future

    def _enqueue(self, table: pa.Table) -> int:
        with self._cond:
            self._queue.append(table)
            self._queued += 1
            self._cond.notify_all()
            return self._queued

    def _drain_until(self, ticket: int, paced: bool = True) -> None:
        """Wait for the interval, then apply the queue in this thread unless another did."""
        while True:
            with self._cond:
                if self._applied >= ticket:
                    return
                delay = self._next_at - time.monotonic() if paced else 0.0
                if delay > 0:
                    self._cond.wait(delay)  # woken early when a group finishes
                    continue
            self._drain(ticket)

    def _drain(self, ticket: int) -> None:
        """Apply every queued table as one group, unless ``ticket`` was applied meanwhile."""
        with self._apply_lock:
            with self._cond:
                if self._applied >= ticket or not self._queue:
                    return
                group, self._queue = self._queue, []
                last = self._queued
                self._next_at = time.monotonic() + self.interval_s
            try:
                self._apply(group[0] if len(group) == 1 else pa.concat_tables(group))
                self.groups += 1
            finally:
                with self._cond:
                    self._applied = last
                    self._cond.notify_all()
                    ready = [f for t, f in self._waiters if t <= last]
                    self._waiters = [(t, f) for t, f in self._waiters if t > last]
                for future in ready:
                    with contextlib.suppress(RuntimeError):  # its event loop has closed
                        future.get_loop().call_soon_threadsafe(_resolve, future)

    # -- the background thread -------------------------------------------------------------------

    def start(self) -> None:
        """Apply submitted tables in a daemon thread from now on."""
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="palate-event-applier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and apply whatever is still queued."""
        thread, self._thread = self._thread, None
        if thread is not None:
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
            thread.join()
        with self._cond:
            last, self._next_at = self._queued, 0.0
        try:
            self._drain_until(last)
        except Exception:
            log.exception(
                "applying the last accepted events failed; the features get them at the next start"
            )

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                delay = self._next_at - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                last = self._queued
            try:
                self._drain(last)
            except Exception:
                log.exception(
                    "applying accepted events failed; the features get them at the next start"
                )


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # a request cancelled while waiting
        future.set_result(None)
