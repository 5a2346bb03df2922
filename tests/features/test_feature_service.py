"""The feature service end to end: arrival order does not matter, one round trip per call."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from palate.domain.events import Event
from palate.events.schema import empty_events
from palate.features.feature_set import FeatureSet
from palate.features.service import FeatureService
from palate.features.store import FeatureStore
from palate.features.venue_attributes import VenueAttributes
from tests.features.conftest import CountingConnection
from tests.features.events import FRIDAY, HOUR, click, impression, order, table

VENUES = [f"v{k}" for k in range(30)]
ITEMS = [f"i{k}" for k in range(12)]
ATTRIBUTES = VenueAttributes.build(
    cuisines={v: [["sushi", "pizza", "thai", "burger"][k % 4]] for k, v in enumerate(VENUES)},
    categories={v: ["restaurant"] for v in VENUES},
    price_levels={v: 1 + k % 4 for k, v in enumerate(VENUES)},
)


def random_log(seed: int, n: int = 1_500) -> list[Event]:
    rng = random.Random(seed)
    events: list[Event] = []
    for _ in range(n):
        user, venue = f"u{rng.randrange(8)}", rng.choice(VENUES)
        at = FRIDAY - timedelta(minutes=rng.uniform(0, 60 * 24 * 10))
        kind = rng.random()
        if kind < 0.6:
            events.append(impression(user, venue, at))
        elif kind < 0.85:
            events.append(click(user, venue, at))
        else:
            basket = [(item, rng.randint(1, 3)) for item in rng.sample(ITEMS, rng.randint(1, 4))]
            events.append(order(user, venue, at, items=basket, total=rng.uniform(10, 60)))
    return events


def ingest_in_batches(service: FeatureService, events: list[Event], rng: random.Random) -> None:
    start = 0
    while start < len(events):
        stop = start + rng.randint(1, 200)
        service.ingest(table(events[start:stop]))
        start = stop


def everything(service: FeatureService, now: datetime) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    for user in ("u0", "u3", None):
        for name, values in service.venue_features(user, VENUES, now).items():
            columns[f"{user}/{name}"] = values
        items = service.item_features(user, "v1", ITEMS, now, cart=["i1", "i2"])
        for name, values in items.items():
            columns[f"{user}/items/{name}"] = values
    return columns


def test_arrival_order_does_not_change_any_feature(
    store_factory: Callable[[], FeatureStore],
) -> None:
    log = random_log(seed=4)
    in_order = FeatureService(store_factory(), attributes=ATTRIBUTES)
    shuffled = FeatureService(store_factory(), attributes=ATTRIBUTES)
    ingest_in_batches(in_order, sorted(log, key=lambda e: e.ts), random.Random(1))
    mixed = log[:]
    random.Random(2).shuffle(mixed)
    ingest_in_batches(shuffled, mixed, random.Random(3))
    now = FRIDAY + HOUR
    want, got = everything(in_order, now), everything(shuffled, now)
    assert want.keys() == got.keys()
    assert any(values.any() for values in want.values())
    for name, values in want.items():
        np.testing.assert_allclose(got[name], values, rtol=1e-9, atol=1e-12, err_msg=name)


def test_columns_follow_the_order_of_the_ids(service: FeatureService) -> None:
    service.ingest(table([order("u1", "sushi1", FRIDAY), order("u1", "sushi1", FRIDAY)]))
    forward = service.venue_features("u1", np.array(["sushi1", "pizza1"]), FRIDAY)
    backward = service.venue_features("u1", ["pizza1", "sushi1"], FRIDAY)
    assert set(forward) == set(service.features.venue_columns)
    for name, values in forward.items():
        assert backward[name].tolist() == values[::-1].tolist(), name
    assert forward["cv_orders"].tolist() == [2.0, 0.0]
    empty = service.venue_features("u1", [], FRIDAY)
    assert all(len(values) == 0 for values in empty.values())


def test_naive_times_are_refused(service: FeatureService) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        service.venue_features("u1", ["v1"], datetime(2024, 5, 3, 16))  # noqa: DTZ001


def test_an_empty_batch_writes_nothing(service: FeatureService) -> None:
    assert service.ingest(empty_events()) == 0
    assert service.ingest(pa.table({"event_id": ["x"], "type": ["order"]})) == 0


@pytest.mark.integration
def test_one_round_trip_per_batch_and_per_ranking(
    redis_store: tuple[FeatureStore, type[CountingConnection]],
) -> None:
    store, counter = redis_store
    service = FeatureService(store, FeatureSet.from_config(), ATTRIBUTES)
    service.refresh_snapshots(table(random_log(seed=1, n=200)), FRIDAY)
    many = [f"v{k}" for k in range(1_000)]
    service.venue_features("u1", many, FRIDAY)  # learns the snapshot pointer
    before = counter.sent
    service.ingest(table(random_log(seed=2, n=1_000)))
    after_write = counter.sent
    columns = service.venue_features("u1", many, FRIDAY + HOUR)
    after_read = counter.sent
    service.item_features("u1", "v1", ITEMS, FRIDAY, cart=["i1", "i2", "i3"])
    assert after_write - before == 1
    assert after_read - after_write == 1
    assert counter.sent - after_read == 1
    assert all(len(values) == 1_000 for values in columns.values())
