"""Group application of accepted event batches: many requests' events, one feature write.

Applying a batch to the online features has a fixed cost (a dozen columnar feature write
paths) that dwarfs its per-event cost, so single-event requests made the ingest path slow
exactly when traffic was high. Here each request queues its batch and waits for the apply
lock; whoever holds the lock applies every queued batch as one table and wakes their owners.
A request still returns only after its own events are applied (read-your-writes holds), and
under load the groups grow by themselves — no timer, no added latency when idle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pyarrow as pa


class GroupApplier:
    """Serialises ``apply`` over concatenated groups of the tables handed to :meth:`apply`.

    >>> seen = []
    >>> group = GroupApplier(lambda table: seen.append(table.num_rows))
    >>> group.apply(pa.table({"x": [1, 2]})); seen
    [2]
    """

    def __init__(self, apply: Callable[[pa.Table], None]) -> None:
        self._apply = apply
        self._lock = threading.Lock()  # held while a group is being applied
        self._queue_lock = threading.Lock()
        self._queue: list[tuple[pa.Table, threading.Event]] = []
        self.groups = 0

    def apply(self, table: pa.Table) -> None:
        """Return once ``table`` has been applied, by this thread or in another's group."""
        done = threading.Event()
        with self._queue_lock:
            self._queue.append((table, done))
        with self._lock:
            if done.is_set():  # a group applied while we waited for the lock held it
                return
            with self._queue_lock:
                group, self._queue = self._queue, []
            try:
                tables = [queued for queued, _ in group]
                self._apply(tables[0] if len(tables) == 1 else pa.concat_tables(tables))
                self.groups += 1
            finally:
                for _, finished in group:
                    finished.set()
