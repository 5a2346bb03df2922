"""Versioned snapshots in Redis: open a version, fill it, activate it with one script call.

Rows of a version are keys of their own (``…:s:<name>:<version>``) without TTL; the pointer
names the active version and its columns. Readers fetch rows at the version they last saw and
read the pointer after the rows in the same pipeline: a version is deleted only once another
is active, so an unchanged pointer proves the rows were complete and current.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import redis
from redis.exceptions import ResponseError

from palate.features.store.protocol import SnapshotError
from palate.features.store.reads import EntityIds, SnapshotRead, SnapshotRows
from palate.features.store.redis_keys import KeyLayout
from palate.features.store.redis_round_trip import ReadCommands
from palate.features.store.redis_scripts import ACTIVATE
from palate.features.store.snapshot_rows import check_rows
from palate.features.store.specs import SnapshotSpec

Pointer = tuple[int, tuple[str, ...]] | None
UNKNOWN = "unknown"
CHUNK = 2_000


def parse_pointer(raw: bytes | str | None) -> Pointer:
    """The active version and its columns, None when nothing was ever activated.

    >>> parse_pointer(b'{"version": 3, "columns": ["a"]}')
    (3, ('a',))
    """
    if raw is None:
        return None
    data = json.loads(raw)
    return int(data["version"]), tuple(str(c) for c in data["columns"])


class RedisSnapshots:
    """The snapshot half of the Redis adapter."""

    def __init__(self, client: redis.Redis, keys: KeyLayout) -> None:
        self._client = client
        self._keys = keys
        self._seen: dict[str, Pointer] = {}
        self._activate = client.register_script(ACTIVATE)

    # ---- reading ---------------------------------------------------------------------------

    def _pointers_in_use(self, specs: list[SnapshotSpec]) -> dict[str, Pointer | str]:
        """The pointers this read will fetch rows at (``UNKNOWN`` when never seen)."""
        return {spec.name: self._seen.get(spec.name, UNKNOWN) for spec in specs}

    def _enqueue_snapshot(
        self, pipe: ReadCommands, read: SnapshotRead, pointer: Pointer | str
    ) -> Callable[[Any], object]:
        ids = read.entity_ids
        if isinstance(pointer, str):
            pointer = None
        if pointer is None or not ids:
            pipe.echo(b"")
            return lambda _: _rows(read, [None] * len(ids), pointer)
        pipe.mget(self._keys.snapshot_rows(read.spec, pointer[0], ids))
        return lambda raw: _rows(read, raw, pointer)

    def _pointers_unchanged(
        self, specs: list[SnapshotSpec], used: dict[str, Pointer | str], raw: list[Any]
    ) -> bool:
        """Record the pointers just read; True when each is the one this read's rows used.

        The comparison is with ``used``, not with the shared cache, which other threads may
        already have moved on.
        """
        unchanged = True
        for spec, value in zip(specs, raw, strict=True):
            pointer = parse_pointer(value)
            unchanged = unchanged and used[spec.name] == pointer
            self._seen[spec.name] = pointer
        return unchanged

    def active_snapshot(self, spec: SnapshotSpec) -> int | None:
        """The served version."""
        pointer = parse_pointer(self._client.get(self._keys.snapshot_meta(spec, "ptr")))
        return None if pointer is None else pointer[0]

    # ---- writing ---------------------------------------------------------------------------

    def begin_snapshot(self, spec: SnapshotSpec) -> int:
        """Hand out the next version number and mark it open."""
        version = int(self._client.incr(self._keys.snapshot_meta(spec, "seq")))
        self._client.hset(self._keys.snapshot_meta(spec, "state"), str(version), "open")
        return version

    def _require_open(self, spec: SnapshotSpec, version: int) -> None:
        state = self._client.hget(self._keys.snapshot_meta(spec, "state"), str(version))
        if state != b"open":
            raise SnapshotError(f"snapshot {spec.name} has no open version {version}")

    def put_snapshot(
        self,
        spec: SnapshotSpec,
        version: int,
        entity_ids: EntityIds,
        values: npt.NDArray[np.float32],
    ) -> None:
        """Write rows in pipelined chunks, remembering their ids for the clean-up."""
        ids, rows = check_rows(spec, entity_ids, values)
        self._require_open(spec, version)
        keys = self._keys.snapshot_rows(spec, version, ids)
        index = self._keys.snapshot_meta(spec, f"ids:{version}")
        pipe = self._client.pipeline(transaction=False)
        for start in range(0, len(ids), CHUNK):
            stop = start + CHUNK
            pipe.mset(
                {
                    key: row.tobytes()
                    for key, row in zip(keys[start:stop], rows[start:stop], strict=True)
                }
            )
            pipe.sadd(index, *ids[start:stop])
        pipe.execute()

    def activate_snapshot(self, spec: SnapshotSpec, version: int) -> None:
        """Point readers at ``version`` atomically, then delete every older version's rows."""
        pointer = json.dumps({"version": version, "columns": list(spec.columns)})
        meta = [self._keys.snapshot_meta(spec, "ptr"), self._keys.snapshot_meta(spec, "state")]
        try:
            superseded = self._activate(keys=meta, args=[version, pointer])
        except ResponseError as error:
            if "NOTOPEN" in str(error):
                raise SnapshotError(f"snapshot {spec.name} has no open version {version}") from None
            raise
        for old in superseded:
            self._delete_version(spec, int(old))

    def discard_snapshot(self, spec: SnapshotSpec, version: int) -> None:
        """Forget an open version and its rows; the active one cannot be discarded."""
        state = self._client.hget(self._keys.snapshot_meta(spec, "state"), str(version))
        if state == b"active":
            raise SnapshotError(f"snapshot {spec.name}: version {version} is active")
        self._client.hdel(self._keys.snapshot_meta(spec, "state"), str(version))
        self._delete_version(spec, version)

    def _delete_version(self, spec: SnapshotSpec, version: int) -> None:
        index = self._keys.snapshot_meta(spec, f"ids:{version}")
        ids: list[str] = []
        for raw in self._client.sscan_iter(index, count=CHUNK):
            ids.append(raw.decode() if isinstance(raw, bytes) else str(raw))
            if len(ids) == CHUNK:
                self._client.unlink(*self._keys.snapshot_rows(spec, version, ids))
                ids = []
        if ids:
            self._client.unlink(*self._keys.snapshot_rows(spec, version, ids))
        self._client.unlink(index)


def _rows(read: SnapshotRead, raw: list[bytes | None], pointer: Pointer) -> SnapshotRows:
    n = len(read.entity_ids)
    if pointer is None:
        width = len(read.spec.columns)
        empty = np.full((n, width), np.nan, dtype=np.float32)
        return SnapshotRows(read.spec.columns, empty, np.zeros(n, dtype=np.bool_), None)
    version, columns = pointer
    size = 4 * len(columns)
    missing = np.full(len(columns), np.nan, dtype="<f4").tobytes()
    rows = [b if b is not None and len(b) == size else None for b in raw]
    found = np.fromiter((b is not None for b in rows), dtype=np.bool_, count=n)
    blob = b"".join(missing if b is None else b for b in rows)
    values = np.frombuffer(blob, dtype="<f4").reshape(n, len(columns)).astype(np.float32)
    return SnapshotRows(columns, values, found, version)
