"""Event-id deduplication: a port with a memory and a Redis adapter."""

from __future__ import annotations

from palate.events.dedupe.memory import MemoryDedupe
from palate.events.dedupe.protocol import ClaimState, DedupeStore
from palate.events.dedupe.redis import RedisDedupe
from palate.events.dedupe.registry import build_dedupe, dedupe_kind

__all__ = [
    "ClaimState",
    "DedupeStore",
    "MemoryDedupe",
    "RedisDedupe",
    "build_dedupe",
    "dedupe_kind",
]
