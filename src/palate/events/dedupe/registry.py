"""Picks the dedupe adapter from the ``[ingest]`` and ``[redis]`` settings."""

from __future__ import annotations

import redis

from palate.events.dedupe.memory import MemoryDedupe
from palate.events.dedupe.protocol import DedupeStore
from palate.events.dedupe.redis import RedisDedupe
from palate.settings import IngestSettings, RedisSettings


def dedupe_kind(ingest: IngestSettings, shared: RedisSettings) -> str:
    """``memory`` or ``redis``; ``auto`` means Redis whenever a Redis URL is configured.

    >>> dedupe_kind(IngestSettings(), RedisSettings(url="redis://127.0.0.1:6379/0"))
    'redis'
    >>> dedupe_kind(IngestSettings(dedupe="memory"), RedisSettings(url="redis://x"))
    'memory'
    """
    if ingest.dedupe == "auto":
        return "redis" if shared.url else "memory"
    return ingest.dedupe


def build_dedupe(ingest: IngestSettings, shared: RedisSettings) -> DedupeStore:
    """The configured store; ``redis`` without a URL is a configuration error."""
    kind = dedupe_kind(ingest, shared)
    if kind == "memory":
        return MemoryDedupe(
            window_s=ingest.dedupe_window_s,
            max_ids=ingest.dedupe_max_ids,
            pending_ttl_s=ingest.pending_ttl_s,
        )
    if not shared.url:
        raise ValueError("ingest.dedupe = 'redis' needs redis.url")
    return RedisDedupe(
        redis.Redis.from_url(shared.url),
        key_prefix=shared.key_prefix,
        window_s=ingest.dedupe_window_s,
        pending_ttl_s=ingest.pending_ttl_s,
    )
