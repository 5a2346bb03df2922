"""The snapshot half of the store contract: versions, atomic activation, failed refreshes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from palate.features.store import FeatureStore, ReadBatch, SnapshotError, SnapshotRows, SnapshotSpec

PROFILE = SnapshotSpec("profile", "v", ("orders", "rating"))
VENUES = [f"v{k}" for k in range(500)]


def rows(value: float, n: int = len(VENUES)) -> np.ndarray:
    return np.tile(np.array([value, 2 * value], dtype=np.float32), (n, 1))


def publish(store: FeatureStore, value: float, chunks: int = 1) -> int:
    version = store.begin_snapshot(PROFILE)
    for part in np.array_split(np.arange(len(VENUES)), chunks):
        store.put_snapshot(PROFILE, version, [VENUES[i] for i in part], rows(value, len(part)))
    store.activate_snapshot(PROFILE, version)
    return version


def read(store: FeatureStore, ids: list[str], spec: SnapshotSpec = PROFILE) -> SnapshotRows:
    reads = ReadBatch()
    handle = reads.snapshot(spec, ids)
    return store.read(reads, 0.0)[handle]


def test_nothing_is_served_before_the_first_activation(store: FeatureStore) -> None:
    version = store.begin_snapshot(PROFILE)
    store.put_snapshot(PROFILE, version, VENUES, rows(1.0))
    got = read(store, ["v1", "v2"])
    assert got.version is None
    assert store.active_snapshot(PROFILE) is None
    assert got.columns == PROFILE.columns
    assert not got.found.any()
    assert np.isnan(got.values).all()


def test_an_activated_version_is_served_whole(store: FeatureStore) -> None:
    version = publish(store, 3.0, chunks=4)
    got = read(store, ["v7", "unknown", "v499"])
    assert got.version == version == store.active_snapshot(PROFILE)
    assert got.found.tolist() == [True, False, True]
    assert got.column("orders")[[0, 2]].tolist() == [3.0, 3.0]
    assert got.column("rating")[[0, 2]].tolist() == [6.0, 6.0]
    assert np.isnan(got.values[1]).all()
    assert np.isnan(got.column("not-a-column")).all()


def test_a_failed_refresh_changes_nothing_served(store: FeatureStore) -> None:
    first = publish(store, 1.0)
    broken = store.begin_snapshot(PROFILE)
    store.put_snapshot(PROFILE, broken, VENUES[:10], rows(9.0, 10))
    assert read(store, VENUES[:20]).column("orders").tolist() == [1.0] * 20
    store.discard_snapshot(PROFILE, broken)
    with pytest.raises(SnapshotError):
        store.activate_snapshot(PROFILE, broken)
    got = read(store, VENUES)
    assert got.version == first
    assert got.found.all()
    assert (got.column("orders") == 1.0).all()


def test_activation_supersedes_every_older_version(store: FeatureStore) -> None:
    stale = store.begin_snapshot(PROFILE)
    publish(store, 1.0)
    newer = store.begin_snapshot(PROFILE)
    publish(store, 2.0)
    for version in (stale, newer):
        with pytest.raises(SnapshotError):
            store.activate_snapshot(PROFILE, version)
        with pytest.raises(SnapshotError):
            store.put_snapshot(PROFILE, version, ["v1"], rows(5.0, 1))
    assert (read(store, VENUES).column("orders") == 2.0).all()


def test_versions_being_built_survive_an_older_activation(store: FeatureStore) -> None:
    older = store.begin_snapshot(PROFILE)
    newer = store.begin_snapshot(PROFILE)
    store.put_snapshot(PROFILE, newer, ["v1"], rows(2.0, 1))
    store.put_snapshot(PROFILE, older, ["v1"], rows(1.0, 1))
    store.activate_snapshot(PROFILE, older)
    store.activate_snapshot(PROFILE, newer)
    assert read(store, ["v1"]).column("orders").tolist() == [2.0]


def test_misuse_is_refused(store: FeatureStore) -> None:
    active = publish(store, 1.0)
    with pytest.raises(SnapshotError):
        store.discard_snapshot(PROFILE, active)
    with pytest.raises(SnapshotError):
        store.put_snapshot(PROFILE, active, ["v1"], rows(2.0, 1))
    with pytest.raises(SnapshotError):
        store.put_snapshot(PROFILE, 999, ["v1"], rows(2.0, 1))
    version = store.begin_snapshot(PROFILE)
    with pytest.raises(ValueError, match="must be 2 x 2"):
        store.put_snapshot(PROFILE, version, ["v1", "v2"], rows(2.0, 3))


def test_a_version_carries_its_own_columns(store: FeatureStore) -> None:
    publish(store, 1.0)
    wider = SnapshotSpec("profile", "v", ("orders", "rating", "repeat_rate"))
    version = store.begin_snapshot(wider)
    store.put_snapshot(wider, version, ["v1"], np.array([[4.0, 5.0, 0.5]], dtype=np.float32))
    store.activate_snapshot(wider, version)
    got = read(store, ["v1"])  # read with the old spec: the columns are the version's
    assert got.columns == wider.columns
    assert got.column("repeat_rate").tolist() == [0.5]


def test_readers_during_refreshes_see_one_whole_version(store: FeatureStore) -> None:
    publish(store, 1.0)
    done = threading.Event()
    seen: list[float] = []
    errors: list[str] = []

    def reader() -> None:
        while not done.is_set():
            got = read(store, VENUES)
            orders = got.column("orders")
            if not got.found.all() or len(set(orders.tolist())) != 1:
                errors.append(f"mixed or partial read: {sorted(set(orders.tolist()))[:5]}")
            if float(orders[0]) != got.version:
                errors.append(f"rows {orders[0]} under version {got.version}")
            seen.append(float(orders[0]))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for value in range(2, 16):
        version = store.begin_snapshot(PROFILE)
        for part in np.array_split(np.arange(len(VENUES)), 5):
            store.put_snapshot(PROFILE, version, [VENUES[i] for i in part], rows(value, len(part)))
        store.activate_snapshot(PROFILE, version)
    done.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(seen) > 10
    assert read(store, VENUES).column("orders")[0] == 15.0
