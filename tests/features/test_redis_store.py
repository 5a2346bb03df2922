"""What only the Redis adapter promises: round trips, key layout, TTLs, script recovery."""

from __future__ import annotations

import math
import socket
import threading
import uuid

import numpy as np
import polars as pl
import pytest
import redis
from redis.crc import key_slot

from palate.errors import ConfigurationError
from palate.features.store import (
    CounterSpec,
    MapSpec,
    ReadBatch,
    SnapshotSpec,
    WindowSpec,
    WriteBatch,
    open_store,
)
from palate.features.store.redis import RedisFeatureStore
from tests.features.conftest import REDIS_URL, CountingConnection, close

pytestmark = pytest.mark.integration

T0 = 1_714_550_400.0
HISTORY = MapSpec("cv", "u", half_life_s=86_400.0, ttl_s=600.0)
ENGAGEMENT = CounterSpec("eng", "v", ("imp", "clk", "ord"), half_life_s=3_600.0, ttl_s=600.0)
WINDOWS = [
    WindowSpec("pop", "v", ((300.0, 12), (3_600.0, 24), (86_400.0, 7)), 600.0),
    WindowSpec("clicks_1h", "v", ((300.0, 12),), 600.0),
]
PROFILE = SnapshotSpec("profile", "v", ("orders", "rating"))
VENUES = [f"v{k}" for k in range(1_000)]
Store = tuple[RedisFeatureStore, type[CountingConnection]]


def busy_batch(n: int = 1_000) -> WriteBatch:
    rng = np.random.default_rng(1)
    venues = np.array(VENUES)[rng.integers(0, len(VENUES), n)]
    users = np.array([f"u{k}" for k in range(50)])[rng.integers(0, 50, n)]
    ts = T0 + rng.uniform(0, 3_600, n)
    batch = WriteBatch()
    batch.add_to_map(
        HISTORY, pl.DataFrame({"entity": users, "field": venues, "amount": 1.0, "ts": ts})
    )
    batch.add_to_counter(
        ENGAGEMENT,
        pl.DataFrame({"entity": venues, "slot": rng.integers(0, 3, n), "amount": 1.0, "ts": ts}),
    )
    for spec in WINDOWS:
        batch.add_to_window(spec, pl.DataFrame({"entity": venues, "amount": 1.0, "ts": ts}))
    return batch


def ranking_reads() -> ReadBatch:
    reads = ReadBatch()
    reads.map(HISTORY, "u1")
    reads.counters(ENGAGEMENT, VENUES)
    for spec in WINDOWS:
        reads.windows(spec, VENUES)
    reads.snapshot(PROFILE, VENUES)
    return reads


def publish(store: RedisFeatureStore, value: float) -> int:
    version = store.begin_snapshot(PROFILE)
    store.put_snapshot(PROFILE, version, VENUES, np.full((1_000, 2), value, dtype=np.float32))
    store.activate_snapshot(PROFILE, version)
    return version


def test_a_batch_of_events_is_one_round_trip(redis_store: Store) -> None:
    store, counter = redis_store
    store.write(busy_batch(10))  # connects the pool
    before = counter.sent
    store.write(busy_batch())
    assert counter.sent - before == 1


def test_a_ranking_read_of_a_thousand_venues_is_one_round_trip(redis_store: Store) -> None:
    store, counter = redis_store
    store.write(busy_batch())
    publish(store, 1.0)
    store.read(ranking_reads(), T0)  # first sight of the snapshot pointer
    before = counter.sent
    results = store.read(ranking_reads(), T0 + 3_600)
    assert counter.sent - before == 1
    assert results.answers[-1].found.all()  # type: ignore[attr-defined]


def test_the_first_read_of_a_snapshot_learns_its_pointer(redis_store: Store) -> None:
    store, counter = redis_store
    publish(store, 1.0)
    reads = ReadBatch()
    handle = reads.snapshot(PROFILE, ["v1"])
    store.client.ping()
    before = counter.sent
    assert store.read(reads, T0)[handle].column("orders").tolist() == [1.0]
    assert counter.sent - before == 2
    publish(store, 2.0)  # a newer version costs one retry, then one trip per read again
    assert store.read(reads, T0)[handle].column("orders").tolist() == [2.0]
    before = counter.sent
    store.read(reads, T0)
    assert counter.sent - before == 1


def test_keys_of_one_entity_share_a_cluster_slot(redis_store: Store) -> None:
    store, _ = redis_store
    store.write(busy_batch())
    spec = MapSpec("cop", "v", half_life_s=math.inf, ttl_s=600.0)
    batch = WriteBatch()
    frame = {"entity": ["v1", "v1"], "sub": ["i1", "i2"], "field": ["i2", "i1"], "amount": 1.0}
    batch.add_to_map(spec, pl.DataFrame(frame).with_columns(ts=pl.lit(T0)))
    one = pl.DataFrame({"entity": ["v1"], "slot": [0], "amount": [1.0], "ts": [T0]})
    batch.add_to_counter(ENGAGEMENT, one)
    batch.add_to_window(WINDOWS[0], one)
    store.write(batch)
    publish(store, 1.0)
    keys = [k.decode() for k in store.client.scan_iter(match=f"{store.namespace}:{{v:v1}}*")]
    assert {k.split("}:", 1)[1].split(":")[0] for k in keys} == {"c", "w", "m", "s"}
    assert len({key_slot(k.encode()) for k in keys}) == 1
    assert f"{store.namespace}:{{v:v1}}:m:cop:i2" in keys


def test_only_streaming_state_has_a_ttl(redis_store: Store) -> None:
    store, _ = redis_store
    store.write(busy_batch())
    publish(store, 1.0)
    keys = [k.decode() for k in store.client.scan_iter(match=f"{store.namespace}:*")]
    ttls = {k: store.client.pttl(k) for k in keys}
    streaming = [k for k in keys if any(f"}}:{p}:" in k for p in "mcw")]
    assert streaming
    assert all(0 < ttls[k] <= 600_000 for k in streaming)
    assert all(ttls[k] == -1 for k in keys if k not in streaming)


def test_superseded_versions_leave_no_keys(redis_store: Store) -> None:
    store, _ = redis_store
    first = publish(store, 1.0)
    failed = store.begin_snapshot(PROFILE)
    store.put_snapshot(PROFILE, failed, VENUES[:10], np.ones((10, 2), dtype=np.float32))
    publish(store, 2.0)
    leftovers = [
        k.decode()
        for k in store.client.scan_iter(match=f"{store.namespace}:*")
        if k.decode().endswith((f":{first}", f":{failed}"))
    ]
    assert leftovers == []


def test_scripts_lost_by_the_server_are_loaded_again(redis_store: Store) -> None:
    store, _ = redis_store
    store._sha = "0" * 40  # what a restarted server without the script looks like
    batch = WriteBatch()
    batch.add_to_map(
        HISTORY, pl.DataFrame({"entity": ["u1"], "field": ["v1"], "amount": [2.0], "ts": [T0]})
    )
    store.write(batch)
    reads = ReadBatch()
    handle = reads.map(HISTORY, "u1")
    assert store.read(reads, T0)[handle].values.tolist() == [2.0]


def test_the_registry_opens_redis_by_name() -> None:
    store = open_store("redis", url=REDIS_URL, namespace=f"palate-test-{uuid.uuid4().hex[:12]}")
    try:
        assert isinstance(store, RedisFeatureStore)
        assert store.active_snapshot(PROFILE) is None
    finally:
        store.close()
    with pytest.raises(ConfigurationError, match=r"'redis'.*unexpected keyword argument 'host'"):
        open_store("redis", host="x")
    with pytest.raises(ConfigurationError, match="namespace must be"):
        open_store("redis", url=REDIS_URL, namespace="a{b}")


def test_a_read_survives_its_connection_being_killed(redis_store: Store) -> None:
    store, _ = redis_store
    store.write(busy_batch())
    expected = store.read(ranking_reads(), T0 + 60)
    name = f"palate-test-{uuid.uuid4().hex[:8]}"
    store.client.client_setname(name)  # the pool's one idle connection: the one reads use
    killer = redis.Redis.from_url(REDIS_URL)
    try:
        killed = [c for c in killer.client_list() if c.get("name") == name]
        assert len(killed) == 1
        killer.client_kill_filter(_id=killed[0]["id"])
    finally:
        killer.close()
    again = store.read(ranking_reads(), T0 + 60)  # sent on the dead socket, then once more
    assert again.answers[1].values.tolist() == expected.answers[1].values.tolist()  # type: ignore[attr-defined]


def test_an_error_reply_is_raised_after_every_reply_is_read(redis_store: Store) -> None:
    """A key of the wrong type fails its read; the connection must not keep the replies of
    the commands after it for the next read to take as its own."""
    store, _ = redis_store
    store.write(busy_batch())
    key = store._keys.map(HISTORY, "u1", "")
    kept = store.client.dump(key)
    assert kept is not None
    store.client.delete(key)
    store.client.set(key, b"not a hash")
    bad = ReadBatch()
    bad.map(HISTORY, "u1")
    counters = bad.counters(ENGAGEMENT, VENUES)
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        store.read(bad, T0)
    store.client.delete(key)
    store.client.restore(key, 0, kept)
    good = ReadBatch()
    history = good.map(HISTORY, "u1")
    again = good.counters(ENGAGEMENT, VENUES)
    results = store.read(good, T0)
    assert len(results[history]) > 0
    assert results[again].values.shape == (len(VENUES), 3)
    assert counters.index == again.index


_SABOTAGE = threading.Event()


class _BreaksOnce(CountingConnection):
    """A real connection whose socket is shut down just before one send, as when the server
    goes away between the pool's check and the write."""

    def send_packed_command(self, command: object, check_health: bool = True) -> None:
        sock: socket.socket | None = getattr(self, "_sock", None)
        if _SABOTAGE.is_set() and sock is not None:
            _SABOTAGE.clear()
            sock.shutdown(socket.SHUT_RDWR)
        super().send_packed_command(command, check_health)


def test_a_read_whose_socket_dies_on_the_way_is_sent_again_on_a_new_one() -> None:
    pool = redis.ConnectionPool.from_url(REDIS_URL, connection_class=_BreaksOnce)
    store = RedisFeatureStore(redis.Redis(connection_pool=pool), f"palate-test-{uuid.uuid4().hex}")
    try:
        store.write(busy_batch())
        expected = store.read(ranking_reads(), T0 + 60)
        _SABOTAGE.set()
        again = store.read(ranking_reads(), T0 + 60)
        assert not _SABOTAGE.is_set()  # the sabotage happened
        assert again.answers[1].values.tolist() == expected.answers[1].values.tolist()  # type: ignore[attr-defined]
    finally:
        close(store)
