"""Redis dedupe store: one pipelined round trip of ``SET ... NX`` per batch.

Keys are ``<prefix>:dedupe:{<event_id>}``; the braces are a Redis Cluster hash tag, so the
slot is a function of the event id alone (whatever the prefix) and a cluster client routes
each command of the pipeline to its node. Values: ``p:<token>`` while pending (expires
after ``pending_ttl``), ``c`` once committed (expires at the end of the dedupe window).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import redis

from palate.events.dedupe.protocol import ClaimState, NsArray, StateArray

_NS_PER_MS = 1_000_000
_COMMITTED = b"c"
_PENDING = b"p:"
# Compare-and-delete, so a release never frees another request's claim.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def dedupe_key(prefix: str, event_id: str) -> str:
    """The key that remembers one event id.

    >>> dedupe_key("palate", "e1")
    'palate:dedupe:{e1}'
    """
    return f"{prefix}:dedupe:{{{event_id}}}"


class RedisDedupe:
    """Event-id claims in Redis, shared by every process that uses the same key prefix."""

    survives_restart = True

    def __init__(
        self,
        client: redis.Redis,
        key_prefix: str,
        window_s: float,
        pending_ttl_s: float,
    ) -> None:
        self.client = client
        self.key_prefix = key_prefix
        self.window_ms = int(window_s * 1000)
        self.pending_ttl_ms = max(1, int(pending_ttl_s * 1000))
        self._release = client.register_script(_RELEASE)

    def key(self, event_id: str) -> str:
        """The key of one event id."""
        return dedupe_key(self.key_prefix, event_id)

    def claim(self, event_ids: Sequence[str], token: str) -> StateArray:
        """See :meth:`DedupeStore.claim`: ``SET key p:<token> NX GET PX ttl`` per id."""
        value = _PENDING + token.encode()
        pipe = self.client.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.set(self.key(event_id), value, nx=True, get=True, px=self.pending_ttl_ms)
        replies = pipe.execute()
        states = np.full(len(event_ids), ClaimState.PENDING, dtype=np.uint8)
        for i, previous in enumerate(replies):
            if previous is None:
                states[i] = ClaimState.NEW
            elif previous == _COMMITTED:
                states[i] = ClaimState.SEEN
        return states

    def commit(self, event_ids: Sequence[str], seen_ns: NsArray | None = None) -> None:
        """See :meth:`DedupeStore.commit`; ids whose window has passed are skipped."""
        if not event_ids:
            return
        now_ms = time.time_ns() // _NS_PER_MS
        if seen_ns is None:
            ttls = np.full(len(event_ids), self.window_ms, dtype=np.int64)
        else:
            ttls = self.window_ms - (now_ms - seen_ns // _NS_PER_MS)
        pipe = self.client.pipeline(transaction=False)
        for event_id, ttl in zip(event_ids, ttls.tolist(), strict=True):
            if ttl > 0:
                pipe.set(self.key(event_id), _COMMITTED, px=ttl)
        pipe.execute()

    def release(self, event_ids: Sequence[str], token: str) -> None:
        """See :meth:`DedupeStore.release`."""
        if not event_ids:
            return
        value = _PENDING + token.encode()
        pipe = self.client.pipeline(transaction=False)
        for event_id in event_ids:
            self._release(keys=[self.key(event_id)], args=[value], client=pipe)
        pipe.execute()

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()
