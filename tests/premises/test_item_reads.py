"""In venue and cart read the feature store once per request, and Redis answers as memory does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from palate.catalog.item_query import ItemQuery
from palate.catalog.items_index import ItemsIndex
from palate.catalog.store import load_catalog
from palate.events.log import EventLog
from palate.features.feature_set import FeatureSet
from palate.features.service import FeatureService
from palate.features.store import FeatureStore
from palate.features.store.memory import MemoryFeatureStore
from palate.features.venue_attributes import attributes_of
from palate.pipeline import Pipeline
from palate.premises.cart import cart_pipeline
from palate.premises.venue_items import venue_items_pipeline
from palate.rules.alcohol import AlcoholRule
from palate.settings import Settings
from tests.features.conftest import close, new_redis_store

pytestmark = pytest.mark.integration
Premise = Callable[[FeatureService, AlcoholRule], Pipeline[ItemQuery]]


def _cart(features: FeatureService, alcohol: AlcoholRule) -> Pipeline[ItemQuery]:
    return cart_pipeline(features, alcohol)


def _venue_items(features: FeatureService, alcohol: AlcoholRule) -> Pipeline[ItemQuery]:
    return venue_items_pipeline(features, alcohol)


@pytest.fixture(scope="module")
def orders(simulated_dir: Path) -> tuple[pa.Table, list[dict[str, object]]]:
    """The simulated events, and a few orders to replay as (customer, venue, cart) requests."""
    events = EventLog(simulated_dir / "events").read()
    placed = events.filter(pc.equal(events.column("type"), "order")).slice(0, 12).to_pylist()
    return events, placed


def _service(store: FeatureStore, simulated_dir: Path, events: pa.Table) -> FeatureService:
    catalog = load_catalog(simulated_dir / "catalog")
    service = FeatureService(store, FeatureSet.from_config(), attributes_of(catalog))
    service.ingest(events)
    return service


@pytest.fixture(scope="module")
def redis_service(
    simulated_dir: Path, orders: tuple[pa.Table, list[dict[str, object]]]
) -> Iterator[tuple[FeatureService, Callable[[], int]]]:
    store, counter = new_redis_store()
    yield _service(store, simulated_dir, orders[0]), lambda: counter.sent
    close(store)


def _rankings(
    service: FeatureService, premise: Premise, simulated_dir: Path, placed: list[dict[str, object]]
) -> Iterator[list[str]]:
    catalog = load_catalog(simulated_dir / "catalog")
    settings = Settings()
    alcohol = AlcoholRule(catalog, settings.rules.alcohol_hours, settings.rules.alcohol_markets)
    pipeline = premise(service, alcohol)
    index = ItemsIndex.build(catalog.items.values())
    for order in placed:
        lines = tuple(str(line["item_id"]) for line in order["lines"] or [])  # type: ignore[attr-defined]
        when = order["ts"]
        assert isinstance(when, datetime)
        query = ItemQuery.at(
            index, str(order["user_id"]), str(order["venue_id"]), when, 20, lines[:2]
        )
        result = pipeline.run(query)
        assert not result.trace.degraded
        yield query.columns.item_ids[result.candidates.positions].tolist()


@pytest.mark.parametrize("premise", [_cart, _venue_items], ids=["cart", "venue_items"])
def test_one_round_trip_per_request_and_the_memory_ranking(
    premise: Premise,
    simulated_dir: Path,
    orders: tuple[pa.Table, list[dict[str, object]]],
    redis_service: tuple[FeatureService, Callable[[], int]],
) -> None:
    service, sent = redis_service
    events, placed = orders
    memory = _service(MemoryFeatureStore(), simulated_dir, events)
    expected = list(_rankings(memory, premise, simulated_dir, placed))
    before = sent()
    rankings = list(_rankings(service, premise, simulated_dir, placed))
    assert sent() - before == len(placed)  # one pipeline (round trip) per request
    assert rankings == expected
    assert any(rankings)
