"""The snapshot half of the memory adapter: open versions, and the active one by reference."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from palate.features.store.protocol import SnapshotError
from palate.features.store.reads import EntityIds, SnapshotRead, SnapshotRows
from palate.features.store.snapshot_rows import check_rows
from palate.features.store.specs import SnapshotSpec

Rows = dict[str, npt.NDArray[np.float32]]


@dataclass(slots=True)
class _Versions:
    """Every version of one snapshot: open ones being filled, and the active one."""

    seq: int = 0
    active: int | None = None
    columns: tuple[str, ...] = ()
    rows: Rows = field(default_factory=dict)
    building: dict[int, Rows] = field(default_factory=dict)


class MemorySnapshots:
    """Versioned snapshots in process; activation is one assignment under the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, _Versions] = {}

    def _versions(self, spec: SnapshotSpec) -> _Versions:
        return self._snapshots.setdefault(spec.name, _Versions())

    def _read_snapshot(self, read: SnapshotRead) -> SnapshotRows:
        snap = self._versions(read.spec)
        columns = snap.columns if snap.active is not None else read.spec.columns
        empty = np.full(len(columns), np.nan, dtype=np.float32)
        rows = [snap.rows.get(entity) for entity in read.entity_ids]
        found = np.fromiter((row is not None for row in rows), dtype=np.bool_, count=len(rows))
        values = np.array([empty if row is None else row for row in rows], dtype=np.float32)
        return SnapshotRows(columns, values.reshape(len(rows), len(columns)), found, snap.active)

    def begin_snapshot(self, spec: SnapshotSpec) -> int:
        """A new open version."""
        with self._lock:
            snap = self._versions(spec)
            snap.seq += 1
            snap.building[snap.seq] = {}
            return snap.seq

    def put_snapshot(
        self,
        spec: SnapshotSpec,
        version: int,
        entity_ids: EntityIds,
        values: npt.NDArray[np.float32],
    ) -> None:
        """Add rows to an open version."""
        ids, rows = check_rows(spec, entity_ids, values)
        with self._lock:
            self._open(spec, version).update(zip(ids, rows.copy(), strict=True))

    def _open(self, spec: SnapshotSpec, version: int) -> Rows:
        building = self._versions(spec).building.get(version)
        if building is None:
            raise SnapshotError(f"snapshot {spec.name} has no open version {version}")
        return building

    def activate_snapshot(self, spec: SnapshotSpec, version: int) -> None:
        """Swap the served rows for the version's, then forget every older version."""
        with self._lock:
            snap = self._versions(spec)
            rows = self._open(spec, version)
            snap.rows, snap.columns, snap.active = rows, spec.columns, version
            snap.building = {v: b for v, b in snap.building.items() if v > version}

    def discard_snapshot(self, spec: SnapshotSpec, version: int) -> None:
        """Forget an open version; the active one cannot be discarded."""
        with self._lock:
            snap = self._versions(spec)
            if version == snap.active:
                raise SnapshotError(f"snapshot {spec.name}: version {version} is active")
            snap.building.pop(version, None)

    def active_snapshot(self, spec: SnapshotSpec) -> int | None:
        """The served version."""
        with self._lock:
            return self._versions(spec).active

    def close(self) -> None:
        """Nothing to release."""
