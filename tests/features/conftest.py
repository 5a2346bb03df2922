"""Fixtures: the feature store under every adapter, Redis ones on a real server.

Each Redis store gets its own namespace (a unique key prefix) and deletes its keys afterwards,
so tests can run beside other users of the same server. ``PALATE_TEST_REDIS_URL`` points the
tests at another server than ``redis://127.0.0.1:6379/0``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from palate.features.feature_set import FeatureSet
from palate.features.service import FeatureService
from palate.features.store import FeatureStore
from palate.features.store.memory import MemoryFeatureStore
from palate.features.store.redis import RedisFeatureStore
from palate.features.store.redis_packing import DirectPacker
from palate.features.venue_attributes import VenueAttributes

REDIS_URL = os.environ.get("PALATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class CountingConnection(redis.connection.Connection):
    """A real connection that counts what it sends: one packed send is one round trip."""

    sent = 0

    def send_packed_command(self, command: object, check_health: bool = True) -> None:
        type(self).sent += 1
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]


def counting_client() -> tuple[redis.Redis, type[CountingConnection]]:
    """A client whose connections count their sends, in a class of its own."""
    counter = type("Counter", (CountingConnection,), {"sent": 0})
    # the production packer (RedisFeatureStore.from_url's), so the contract suite runs on it
    pool = redis.ConnectionPool.from_url(
        REDIS_URL, connection_class=counter, command_packer=DirectPacker()
    )
    return redis.Redis(connection_pool=pool), counter


def new_redis_store() -> tuple[RedisFeatureStore, type[CountingConnection]]:
    """A Redis store under a fresh namespace."""
    client, counter = counting_client()
    return RedisFeatureStore(client, namespace=f"palate-test-{uuid.uuid4().hex[:12]}"), counter


def close(store: RedisFeatureStore) -> None:
    """Delete the store's keys and its connections (the pool is the test's, not the store's)."""
    store.clear()
    store.close()
    store.client.connection_pool.disconnect()


@pytest.fixture
def redis_store() -> Iterator[tuple[RedisFeatureStore, type[CountingConnection]]]:
    """A Redis store and the class counting its round trips; its keys are deleted afterwards."""
    store, counter = new_redis_store()
    yield store, counter
    close(store)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
def store_factory(request: pytest.FixtureRequest) -> Iterator[Callable[[], FeatureStore]]:
    """Makes empty stores of one adapter; adding an adapter is adding a param here."""
    made: list[FeatureStore] = []

    def make() -> FeatureStore:
        store = MemoryFeatureStore() if request.param == "memory" else new_redis_store()[0]
        made.append(store)
        return store

    yield make
    for store in made:
        if isinstance(store, RedisFeatureStore):
            close(store)


@pytest.fixture
def store(store_factory: Callable[[], FeatureStore]) -> FeatureStore:
    """An empty store of each adapter."""
    return store_factory()


@pytest.fixture
def service(store: FeatureStore) -> FeatureService:
    """The default feature set over each adapter, with a few venues' facts."""
    attributes = VenueAttributes.build(
        cuisines={"sushi1": ["sushi", "japanese"], "pizza1": ["pizza"], "burger1": ["burger"]},
        categories={"sushi1": ["restaurant"], "pizza1": ["restaurant"], "shop1": ["grocery"]},
        price_levels={"sushi1": 3, "pizza1": 2, "burger1": 1, "shop1": 2},
    )
    return FeatureService(store, FeatureSet.from_config(), attributes)
