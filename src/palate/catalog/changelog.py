"""A durable, append-only log of catalog changes between two catalog checkpoints.

Each change is one JSON line, fsync'd before the API acknowledges it. On start the changes are
replayed on top of the last checkpoint (``save_catalog``); a checkpoint truncates the log.
Replaying is idempotent (every change is an upsert or a set), so a crash between writing a
checkpoint and truncating the log is harmless.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson


class CatalogChangelog:
    """JSON lines of ``{"op": ..., "body": ...}``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, op: str, body: Any) -> None:
        """Write one change and fsync it."""
        line = orjson.dumps({"op": op, "body": body}) + b"\n"
        with self._lock, self.path.open("ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def replay(self) -> Iterator[tuple[str, Any]]:
        """The logged changes in order; a torn last line (never acknowledged) is skipped."""
        if not self.path.exists():
            return
        for raw in self.path.read_bytes().splitlines():
            try:
                entry = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            yield entry["op"], entry["body"]

    def truncate(self) -> None:
        """Forget every change (they are in a checkpoint now)."""
        with self._lock:
            self.path.write_bytes(b"")
