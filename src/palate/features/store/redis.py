"""The Redis feature store: state shared by every replica, one round trip per batch.

Writes are one pipeline of ``EVALSHA`` calls (one per key, so each is atomic and cluster-safe);
reads are one round trip of ``MGET``/``HGETALL``/``HMGET`` whatever the number of venues
(:mod:`palate.features.store.redis_round_trip`). The key layout is in
:mod:`palate.features.store.redis_keys`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import compress
from typing import Any

import numpy as np
import redis
from redis.exceptions import NoScriptError

from palate.features.store.decay import decay_to, window_totals
from palate.features.store.reads import (
    CounterRead,
    CounterValues,
    MapRead,
    MapValues,
    Read,
    ReadBatch,
    ReadResults,
    SnapshotRead,
    WindowRead,
    held_fields,
)
from palate.features.store.redis_keys import KeyLayout
from palate.features.store.redis_packing import client_from_url
from palate.features.store.redis_round_trip import ReadCommands, hash_pairs, round_trip
from palate.features.store.redis_scripts import APPLY
from palate.features.store.redis_snapshots import RedisSnapshots
from palate.features.store.redis_writes import script_calls
from palate.features.store.writes import (
    WriteBatch,
)
from palate.pipeline.candidates import FloatArray

Decoder = Callable[[Any], object]
MAX_POINTER_RETRIES = 3
_NAN = np.array([np.nan]).tobytes()


class RedisFeatureStore(RedisSnapshots):
    """Feature state in Redis under one namespace (a key prefix)."""

    def __init__(self, client: redis.Redis, namespace: str = "palate") -> None:
        keys = KeyLayout(namespace)
        super().__init__(client, keys)
        self.namespace = namespace
        self._sha = ""
        self._load_scripts()

    @classmethod
    def from_url(
        cls, url: str = "redis://127.0.0.1:6379/0", namespace: str = "palate"
    ) -> RedisFeatureStore:
        """A store over a new connection pool to ``url``."""
        return cls(client_from_url(url), namespace)

    def _load_scripts(self) -> None:
        self._sha = str(self._client.script_load(APPLY))

    # ---- writes ----------------------------------------------------------------------------

    def write(self, batch: WriteBatch) -> None:
        """One pipeline of script calls, one per hash tag; calls refused with NOSCRIPT
        (the server lost its script cache: restart, SCRIPT FLUSH) are replayed once.
        """
        calls = script_calls(self._keys, batch.compact())
        if not calls:
            return
        failed = self._run(calls)
        if failed:
            self._load_scripts()
            if self._run(failed):
                raise RuntimeError("Redis refused the feature store's script twice")

    def _run(
        self, calls: list[tuple[list[str], list[bytes]]]
    ) -> list[tuple[list[str], list[bytes]]]:
        pipe = self._client.pipeline(transaction=False)
        for keys, args in calls:
            pipe.evalsha(self._sha, len(keys), *keys, *args)
        replies = pipe.execute(raise_on_error=False)
        failed = []
        for call, reply in zip(calls, replies, strict=True):
            if isinstance(reply, NoScriptError):
                failed.append(call)
            elif isinstance(reply, Exception):
                raise reply
        return failed

    # ---- reads -----------------------------------------------------------------------------

    def read(self, batch: ReadBatch, now: float) -> ReadResults:
        """One pipeline for every read, plus the pointers of the snapshots read, checked last.

        Snapshot rows are fetched at the version this client last saw active. If a pointer
        read in the same pipeline shows another version, the pipeline runs again at the new
        one, so the rows of one answer always come from one complete version.
        """
        specs = list(
            {r.spec.name: r.spec for r in batch.reads if isinstance(r, SnapshotRead)}.values()
        )
        for _ in range(MAX_POINTER_RETRIES):
            used = self._pointers_in_use(specs)
            pipe = ReadCommands()
            decoders = [self._enqueue(pipe, read, now, used) for read in batch.reads]
            for spec in specs:
                pipe.get(self._keys.snapshot_meta(spec, "ptr"))
            replies = round_trip(self._client, pipe)
            pointers = replies[len(decoders) :]
            if self._pointers_unchanged(specs, used, pointers):
                return ReadResults(tuple(d(r) for d, r in zip(decoders, replies, strict=False)))
        raise RuntimeError("snapshot pointers kept moving while reading; retry the request")

    def _enqueue(self, pipe: ReadCommands, read: Read, now: float, used: dict[str, Any]) -> Decoder:
        match read:
            case MapRead():
                return self._enqueue_map(pipe, read, now)
            case CounterRead():
                spec = read.spec
                _mget(pipe, self._keys.counters(spec, read.entity_ids, read.sub))
                return lambda raw: _counters(read, raw, now)
            case WindowRead():
                spec_w = read.spec
                _mget(pipe, self._keys.windows(spec_w, read.entity_ids))
                return lambda raw: _windows(read, raw, now)
            case SnapshotRead():
                return self._enqueue_snapshot(pipe, read, used[read.spec.name])

    def _enqueue_map(self, pipe: ReadCommands, read: MapRead, now: float) -> Decoder:
        key = self._keys.map(read.spec, read.entity_id, read.sub)
        if read.fields is not None and not read.fields:
            pipe.exists(key)
            return lambda _: MapValues.empty(0)
        if read.fields is None or read.bounded:  # a bounded map: no names to pack and parse
            pipe.hgetall(key)
            return lambda raw: _map(read, hash_pairs(raw), now)
        pipe.hmget(key, list(read.fields))
        return lambda raw: _named_map(read, raw, now)

    def clear(self) -> int:
        """Delete every key of the namespace (tests, resets); returns how many."""
        deleted = 0
        batch: list[Any] = []
        for key in self._client.scan_iter(match=self._keys.pattern(), count=1_000):
            batch.append(key)
            if len(batch) == 1_000:
                deleted += int(self._client.unlink(*batch))
                batch = []
        if batch:
            deleted += int(self._client.unlink(*batch))
        return deleted

    @property
    def client(self) -> redis.Redis:
        """The Redis client (its pool is closed with the store only if the store made it)."""
        return self._client

    def close(self) -> None:
        """Close the client; a pool the caller passed in stays the caller's to close."""
        self._client.close()


def _mget(pipe: ReadCommands, keys: list[str]) -> None:
    """``MGET`` refuses an empty key list; an empty read still takes its place in the replies."""
    if keys:
        pipe.mget(keys)
    else:
        pipe.echo(b"")


def _map(read: MapRead, raw: Iterable[tuple[Any, Any]], now: float) -> MapValues:
    cells = {
        (name.decode() if isinstance(name, bytes) else name): blob
        for name, blob in raw
        if blob is not None and len(blob) == 16
    }
    if not cells:
        return MapValues.empty(None if read.fields is None else len(read.fields))
    names, asked = held_fields(read, cells)
    pairs = np.frombuffer(b"".join(cells[name] for name in names), dtype="<f8").reshape(-1, 2)
    values = decay_to(pairs[:, 0], pairs[:, 1], now, read.spec.tau)
    return MapValues(np.array(names, dtype=np.str_), values, pairs[:, 1].copy(), asked)


def _named_map(read: MapRead, raw: list[bytes | None], now: float) -> MapValues:
    """An ``HMGET`` reply (one blob or None per named field, in order) without a dict of it;
    the same answer :func:`_map` gives (see :func:`held_fields`)."""
    fields = read.fields or ()
    asked = np.fromiter((b is not None and len(b) == 16 for b in raw), np.bool_, len(fields))
    if not asked.any():
        return MapValues.empty(len(fields))
    pairs = np.frombuffer(b"".join(compress(raw, asked)), dtype="<f8").reshape(-1, 2)  # type: ignore[arg-type]
    values = decay_to(pairs[:, 0], pairs[:, 1], now, read.spec.tau)
    names = np.array(list(compress(fields, asked)), dtype=np.str_)
    return MapValues(names, values, pairs[:, 1].copy(), asked)


def _counters(read: CounterRead, raw: list[bytes | None], now: float) -> CounterValues:
    spec = read.spec
    size = spec.blob_size
    empty = _NAN + bytes(size - 8)
    blob = b"".join(
        b if b is not None and len(b) == size else empty for b in raw[: len(read.entity_ids)]
    )
    rows = np.frombuffer(blob, dtype="<f8").reshape(-1, 1 + len(spec.slots))
    refs = rows[:, 0].copy()
    factor = decay_to(np.ones(len(refs)), refs, now, spec.tau)
    return CounterValues(spec.slots, rows[:, 1:] * factor[:, None], refs)


def _windows(read: WindowRead, raw: list[bytes | None], now: float) -> FloatArray:
    spec = read.spec
    size = spec.blob_size
    fields: list[tuple[str, str] | tuple[str, str, tuple[int]]] = []
    for r, (_, buckets) in enumerate(spec.rings):
        fields += [(f"newest{r}", "<f8"), (f"counts{r}", "<f4", (buckets,))]
    layout = np.dtype(fields)
    empty = np.zeros(1, dtype=layout)
    for r in range(len(spec.rings)):
        empty[f"newest{r}"] = np.nan
    blank = empty.tobytes()
    n = len(read.entity_ids)
    blob = b"".join(b if b is not None and len(b) == size else blank for b in raw[:n])
    rows = np.frombuffer(blob, dtype=layout)
    newest = [rows[f"newest{r}"].astype(np.float64) for r in range(len(spec.rings))]
    counts = [
        rows[f"counts{r}"].astype(np.float64).reshape(n, buckets)
        for r, (_, buckets) in enumerate(spec.rings)
    ]
    return window_totals(spec.rings, newest, counts, now)
