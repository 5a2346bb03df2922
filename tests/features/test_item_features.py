"""Item popularity per venue, the customer's own items, co-purchase counters."""

from __future__ import annotations

import polars as pl
import pytest

from palate.features.co_purchase import order_pairs
from palate.features.feature_set import FeatureSet
from palate.features.service import FeatureService
from palate.features.store import FeatureStore
from tests.features.events import DAY, FRIDAY, order, table


def test_item_popularity_is_decayed_quantity_and_its_share(service: FeatureService) -> None:
    service.ingest(
        table(
            [
                order("a", "v1", FRIDAY, items=[("fries", 2), ("burger", 1)]),
                order("b", "v1", FRIDAY, items=[("fries", 1)]),
                order("b", "v2", FRIDAY, items=[("salad", 5)]),
            ]
        )
    )
    got = service.item_features("a", "v1", ["fries", "burger", "salad"], FRIDAY)
    assert got["item_pop"].tolist() == [3.0, 1.0, 0.0]
    assert got["item_share"].tolist() == [0.75, 0.25, 0.0]
    assert got["user_item_orders"].tolist() == [1.0, 1.0, 0.0]
    assert got["user_item_days_since"].tolist() == [0.0, 0.0, 365.0]
    two_weeks = service.item_features(None, "v1", ["fries"], FRIDAY + 14 * DAY)
    assert two_weeks["item_pop"].tolist() == pytest.approx([1.5])  # 14-day half-life
    assert two_weeks["item_share"].tolist() == pytest.approx([0.75])
    assert two_weeks["user_item_orders"].tolist() == [0.0]


def test_co_purchase_counts_pairs_within_an_order(service: FeatureService) -> None:
    service.ingest(
        table(
            [
                order("a", "v1", FRIDAY, items=[("burger", 1), ("fries", 1), ("cola", 1)]),
                order("b", "v1", FRIDAY, items=[("burger", 2), ("fries", 1)]),
                order("c", "v1", FRIDAY, items=[("burger", 1)]),
                order("d", "v2", FRIDAY, items=[("burger", 1), ("salad", 1)]),
            ]
        )
    )
    counts = service.co_purchase("v1", ["burger"], ["fries", "cola", "salad", "burger"], FRIDAY)
    assert counts.tolist() == [2.0, 1.0, 0.0, 0.0]
    both = service.co_purchase("v1", ["burger", "cola"], ["fries"], FRIDAY)
    assert both.tolist() == [3.0]
    items, totals = service.frequently_bought_with("v1", ["burger"], FRIDAY)
    assert items == ["fries", "cola"]
    assert totals.tolist() == [2.0, 1.0]
    cart = service.item_features("a", "v1", ["fries", "cola"], FRIDAY, cart=["burger", "fries"])
    assert cart["co_purchase"].tolist() == [2.0, 2.0]  # cola: once with burger, once with fries


def test_pairs_are_capped_per_order() -> None:
    lines = pl.DataFrame(
        {"order_id": ["o"] * 5, "venue_id": ["v"] * 5, "ts": [1.0] * 5, "item_id": list("abcde")}
    )
    pairs = order_pairs(lines.lazy(), max_items=3).collect()
    assert pairs.height == 6  # a, b, c: three items, six ordered pairs
    assert set(pairs["item_id"]) == {"a", "b", "c"}


def test_disabled_co_purchase_reads_as_nothing(store: FeatureStore) -> None:
    service = FeatureService(store, FeatureSet.from_config({"co_purchase": {"enabled": False}}))
    service.ingest(table([order("a", "v1", FRIDAY, items=[("x", 1), ("y", 1)])]))
    assert service.co_purchase("v1", ["x"], ["y"], FRIDAY).tolist() == [0.0]
    assert service.frequently_bought_with("v1", ["x"], FRIDAY)[0] == []
    assert "co_purchase" not in service.item_features(None, "v1", ["y"], FRIDAY, cart=["x"])
