"""In-process dedupe store, bounded by the dedupe window and a maximum number of ids.

Its contents die with the process; the ingestor rebuilds them at startup from the seen-ids
journal and the WAL (``commit`` with the original arrival times).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from palate.events.dedupe.protocol import ClaimState, NsArray, StateArray

_NS_PER_S = 1_000_000_000
_PURGE_PENDING_ABOVE = 10_000


class MemoryDedupe:
    """Seen ids in arrival order (oldest evicted first) and pending claims with expiry.

    >>> store = MemoryDedupe(window_s=60.0, max_ids=2, pending_ttl_s=5.0)
    >>> store.claim(["a", "b"], token="t1").tolist()
    [0, 0]
    >>> store.commit(["a", "b"]); store.claim(["a", "c"], token="t2").tolist()
    [2, 0]
    >>> store.commit(["c"]); store.claim(["a"], token="t3").tolist()  # evicted by the size cap
    [0]
    """

    survives_restart = False

    def __init__(
        self,
        window_s: float,
        max_ids: int,
        pending_ttl_s: float,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.window_ns = int(window_s * _NS_PER_S)
        self.max_ids = max_ids
        self.pending_ttl_ns = int(pending_ttl_s * _NS_PER_S)
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._pending: dict[str, tuple[str, int]] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def claim(self, event_ids: Sequence[str], token: str) -> StateArray:
        """See :meth:`DedupeStore.claim`."""
        states = np.empty(len(event_ids), dtype=np.uint8)
        with self._lock:
            now = self._clock()
            self._evict(now)
            if len(self._pending) > _PURGE_PENDING_ABOVE:
                self._pending = {k: v for k, v in self._pending.items() if v[1] > now}
            seen, pending, expires = self._seen, self._pending, now + self.pending_ttl_ns
            for i, event_id in enumerate(event_ids):
                if event_id in seen:
                    states[i] = ClaimState.SEEN
                    continue
                held = pending.get(event_id)
                if held is not None and held[1] > now:
                    states[i] = ClaimState.PENDING
                else:
                    pending[event_id] = (token, expires)
                    states[i] = ClaimState.NEW
        return states

    def commit(self, event_ids: Sequence[str], seen_ns: NsArray | None = None) -> None:
        """See :meth:`DedupeStore.commit`."""
        with self._lock:
            now = self._clock()
            times = [now] * len(event_ids) if seen_ns is None else seen_ns.tolist()
            seen, pending = self._seen, self._pending
            for event_id, at in zip(event_ids, times, strict=True):
                pending.pop(event_id, None)
                seen[event_id] = at
                seen.move_to_end(event_id)
            self._evict(now)

    def release(self, event_ids: Sequence[str], token: str) -> None:
        """See :meth:`DedupeStore.release`."""
        with self._lock:
            for event_id in event_ids:
                held = self._pending.get(event_id)
                if held is not None and held[0] == token:
                    del self._pending[event_id]

    def close(self) -> None:
        """Drop everything."""
        with self._lock:
            self._seen.clear()
            self._pending.clear()

    def _evict(self, now: int) -> None:
        seen, horizon = self._seen, now - self.window_ns
        while len(seen) > self.max_ids:
            seen.popitem(last=False)
        while seen:
            oldest = next(iter(seen.values()))
            if oldest >= horizon:
                break
            seen.popitem(last=False)
