"""Catalog changes reach every replica: a Redis stream that each replica reads in full.

Events use a consumer group (each applied once, to the shared feature store), but the catalog
index lives in every process, so every replica must apply every change. Each entry carries its
origin so a replica skips the changes it made itself.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import redis

log = logging.getLogger("palate.catalog_sync")
BLOCK_MS = 200
MAX_LEN = 100_000


class CatalogBroadcast:
    """Publishes this replica's catalog changes and applies everyone else's."""

    def __init__(self, client: redis.Redis, key_prefix: str) -> None:
        self.client = client
        self.key = f"{key_prefix}:{{catalog}}:changes"
        self.origin = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_id = "$"

    def publish(self, op: str, body: Any) -> None:
        """Announce one change (already applied and logged locally)."""
        fields = {"origin": self.origin, "op": op, "body": orjson.dumps(body)}
        self.client.xadd(self.key, fields, maxlen=MAX_LEN, approximate=True)  # type: ignore[arg-type]

    def start(self, apply: Callable[[str, Any], None]) -> None:
        """Follow the stream from now on, applying other replicas' changes."""
        newest: Any = self.client.xrevrange(self.key, count=1)
        self._last_id = newest[0][0].decode() if newest else "0-0"
        self._thread = threading.Thread(
            target=self._run, args=(apply,), name="catalog-sync", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop following."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, apply: Callable[[str, Any], None]) -> None:
        while not self._stop.is_set():
            try:
                self.poll(apply)
            except redis.RedisError:
                log.warning("catalog sync read failed; retrying", exc_info=True)
                self._stop.wait(1.0)

    def poll(self, apply: Callable[[str, Any], None]) -> int:
        """Apply the changes that arrived since the last poll; how many were applied."""
        reply: Any = self.client.xread({self.key: self._last_id}, block=BLOCK_MS, count=500)
        applied = 0
        for _, entries in reply or []:
            for entry_id, fields in entries:
                self._last_id = entry_id.decode()
                if fields[b"origin"].decode() == self.origin:
                    continue
                apply(fields[b"op"].decode(), orjson.loads(fields[b"body"]))
                applied += 1
        return applied
