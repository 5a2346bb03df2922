"""The online feature store port: batch writes, batch reads, versioned snapshots.

Adapters: :mod:`~palate.features.store.memory` (one process) and
:mod:`~palate.features.store.redis` (shared by replicas); pick one by name with
:func:`~palate.features.store.registry.open_store`. ``tests/features/test_store_contract.py``
holds every adapter to the same behaviour.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from palate.features.store.reads import EntityIds, ReadBatch, ReadResults
from palate.features.store.specs import SnapshotSpec
from palate.features.store.writes import WriteBatch


class SnapshotError(RuntimeError):
    """A snapshot version that cannot be written or activated (unknown, discarded, superseded)."""


@runtime_checkable
class FeatureStore(Protocol):
    """Where features live between the events that change them and the rankings that read them.

    Times are epoch seconds (UTC). Streaming state (maps, counters, windows) expires ``ttl_s``
    after its latest write; snapshot versions never expire and are replaced only by activation.
    """

    def write(self, batch: WriteBatch) -> None:
        """Apply every update of the batch (one round trip for a remote store)."""
        ...

    def read(self, batch: ReadBatch, now: float) -> ReadResults:
        """Answer every read of the batch as of ``now`` (one round trip for a remote store)."""
        ...

    def begin_snapshot(self, spec: SnapshotSpec) -> int:
        """Open a new, invisible version of a snapshot and return its number (increasing)."""
        ...

    def put_snapshot(
        self,
        spec: SnapshotSpec,
        version: int,
        entity_ids: EntityIds,
        values: npt.NDArray[np.float32],
    ) -> None:
        """Write rows (``len(entity_ids) × len(spec.columns)``) into an open version."""
        ...

    def activate_snapshot(self, spec: SnapshotSpec, version: int) -> None:
        """Serve ``version`` from now on, atomically, and delete the versions it supersedes."""
        ...

    def discard_snapshot(self, spec: SnapshotSpec, version: int) -> None:
        """Drop an open version (a failed refresh); what is served does not change."""
        ...

    def active_snapshot(self, spec: SnapshotSpec) -> int | None:
        """The version being served, None before the first activation."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
