"""One contract for every dedupe adapter, run against memory and a real Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import redis

from palate.events.dedupe import ClaimState, DedupeStore, MemoryDedupe, RedisDedupe

NEW, PENDING, SEEN = ClaimState.NEW, ClaimState.PENDING, ClaimState.SEEN
StoreFactory = Callable[..., DedupeStore]


@pytest.fixture(params=["memory", "redis"])
def make_store(
    request: pytest.FixtureRequest, redis_client: redis.Redis, redis_prefix: str
) -> Iterator[StoreFactory]:
    made: list[DedupeStore] = []

    def factory(window_s: float = 600.0, pending_ttl_s: float = 30.0) -> DedupeStore:
        store: DedupeStore
        if request.param == "memory":
            store = MemoryDedupe(window_s, max_ids=1_000_000, pending_ttl_s=pending_ttl_s)
        else:
            client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
            store = RedisDedupe(client, redis_prefix, window_s, pending_ttl_s)
        made.append(store)
        return store

    yield factory
    for store in made:
        store.close()


def _states(store: DedupeStore, ids: list[str], token: str) -> list[ClaimState]:
    return [ClaimState(s) for s in store.claim(ids, token).tolist()]


def test_new_pending_then_seen(make_store: StoreFactory) -> None:
    store = make_store()
    assert store.survives_restart in (True, False)
    assert _states(store, ["a", "b"], "t1") == [NEW, NEW]
    assert _states(store, ["a", "c"], "t2") == [PENDING, NEW], "a is claimed by t1"
    store.commit(["a", "b"])
    assert _states(store, ["a", "b", "d"], "t3") == [SEEN, SEEN, NEW]


def test_an_id_repeated_in_one_claim_is_claimed_once(make_store: StoreFactory) -> None:
    store = make_store()
    assert _states(store, ["x", "x", "y"], "t1") == [NEW, PENDING, NEW]


def test_release_frees_only_the_tokens_own_claims(make_store: StoreFactory) -> None:
    store = make_store()
    _states(store, ["a", "b"], "t1")
    store.commit(["b"])
    store.release(["a", "b"], "t2")  # not t2's claims: nothing changes
    assert _states(store, ["a", "b"], "t3") == [PENDING, SEEN]
    store.release(["a", "b"], "t1")  # a is freed; b stays seen once committed
    assert _states(store, ["a", "b"], "t4") == [NEW, SEEN]


def test_a_claim_whose_owner_died_expires(make_store: StoreFactory) -> None:
    store = make_store(pending_ttl_s=0.3)
    assert _states(store, ["a"], "dead") == [NEW]
    assert _states(store, ["a"], "t2") == [PENDING]
    time.sleep(0.45)
    assert _states(store, ["a"], "t3") == [NEW]


def test_seen_ids_are_forgotten_after_the_window(make_store: StoreFactory) -> None:
    store = make_store(window_s=0.5)
    store.claim(["a"], "t1")
    store.commit(["a"])
    assert _states(store, ["a"], "t2") == [SEEN]
    time.sleep(0.7)
    assert _states(store, ["a"], "t3") == [NEW]


def test_commit_with_arrival_times_counts_the_window_from_them(make_store: StoreFactory) -> None:
    store = make_store(window_s=60.0)
    now = time.time_ns()
    arrived = np.array([now - 120 * 10**9, now - 10 * 10**9], dtype=np.int64)
    store.commit(["old", "recent"], arrived)
    assert _states(store, ["old", "recent"], "t1") == [NEW, SEEN]


def test_many_ids_in_one_call(make_store: StoreFactory) -> None:
    store = make_store()
    ids = [f"e{i}" for i in range(5_000)]
    assert set(_states(store, ids, "t1")) == {NEW}
    store.commit(ids[::2])
    store.release(ids[1::2], "t1")
    states = _states(store, ids, "t2")
    assert states[::2] == [SEEN] * 2_500
    assert states[1::2] == [NEW] * 2_500


def test_concurrent_claims_of_the_same_ids_have_one_winner(make_store: StoreFactory) -> None:
    store = make_store()
    ids = [f"race{i}" for i in range(300)]
    results: list[list[ClaimState]] = []

    def claim(token: str) -> None:
        results.append(_states(store, ids, token))

    threads = [threading.Thread(target=claim, args=(f"t{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for column in zip(*results, strict=True):
        assert column.count(NEW) == 1
        assert column.count(PENDING) == 5


def test_memory_store_is_bounded_by_size() -> None:
    store = MemoryDedupe(window_s=600.0, max_ids=100, pending_ttl_s=30.0)
    ids = [f"e{i}" for i in range(250)]
    store.claim(ids, "t")
    store.commit(ids)
    assert len(store) == 100
    states = [ClaimState(s) for s in store.claim(ids, "t2").tolist()]
    assert states[:150] == [NEW] * 150, "the oldest ids are forgotten first"
    assert states[150:] == [SEEN] * 100


def test_memory_store_expires_by_its_clock() -> None:
    now = [1_000 * 10**9]
    store = MemoryDedupe(window_s=10.0, max_ids=100, pending_ttl_s=1.0, clock=lambda: now[0])
    store.claim(["a", "b"], "t")
    store.commit(["a"])
    now[0] += 5 * 10**9
    store.commit(["c"])
    now[0] += 6 * 10**9  # a is 11 s old, c 6 s
    assert [ClaimState(s) for s in store.claim(["a", "b", "c"], "t2").tolist()] == [NEW, NEW, SEEN]
    assert len(store) == 1


def test_redis_keys_carry_a_hash_tag_and_expire(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    store = RedisDedupe(redis.Redis.from_url("redis://127.0.0.1:6379/0"), redis_prefix, 600, 30)
    store.claim(["e{1}"], "t")
    key = f"{redis_prefix}:dedupe:{{e{{1}}}}"
    assert redis_client.get(key) == b"p:t"
    assert 0 < redis_client.pttl(key) <= 30_000
    store.commit(["e{1}"])
    assert redis_client.get(key) == b"c"
    assert 30_000 < redis_client.pttl(key) <= 600_000
    store.close()
