"""The online feature store: a protocol, a memory and a Redis adapter, and their vocabulary."""

from __future__ import annotations

from palate.features.store.protocol import FeatureStore, SnapshotError
from palate.features.store.reads import (
    CounterValues,
    Handle,
    MapValues,
    ReadBatch,
    ReadResults,
    SnapshotRows,
)
from palate.features.store.registry import open_store
from palate.features.store.specs import (
    CUSTOMER,
    VENUE,
    CounterSpec,
    MapSpec,
    SnapshotSpec,
    WindowSpec,
)
from palate.features.store.writes import WriteBatch

__all__ = [
    "CUSTOMER",
    "VENUE",
    "CounterSpec",
    "CounterValues",
    "FeatureStore",
    "Handle",
    "MapSpec",
    "MapValues",
    "ReadBatch",
    "ReadResults",
    "SnapshotError",
    "SnapshotRows",
    "SnapshotSpec",
    "WindowSpec",
    "WriteBatch",
    "open_store",
]
