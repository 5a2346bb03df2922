"""Declaring features in config: defaults, overrides, and errors a person can act on."""

from __future__ import annotations

import pytest

from palate.errors import ConfigurationError
from palate.features.feature_set import BUILDERS, FeatureSet
from palate.features.popularity import VenuePopularity
from palate.features.store import MapSpec, open_store


def test_defaults_enable_every_feature_with_distinct_columns() -> None:
    features = FeatureSet.from_config()
    assert [f.name for f in features.features] == list(BUILDERS)
    assert len(set(features.venue_columns)) == len(features.venue_columns)
    assert {"cv_orders", "cuisine_affinity", "price_fit", "tod_share", "ctr", "cvr"} <= set(
        features.venue_columns
    )
    assert {"pop_orders_1h", "pop_orders_24h", "pop_orders_7d", "pop_how_lift"} <= set(
        features.venue_columns
    )
    assert features.item_columns == (
        "item_pop",
        "item_share",
        "user_item_orders",
        "user_item_days_since",
        "co_purchase",
    )


def test_options_override_defaults() -> None:
    features = FeatureSet.from_config(
        {
            "venue_popularity": {"windows": ["30m", "3d"], "ttl_days": 4},
            "time_of_day": {"enabled": False},
        }
    )
    popularity = features.get("venue_popularity")
    assert isinstance(popularity, VenuePopularity)
    assert popularity.windows.rings == ((300.0, 6), (86_400.0, 3))
    assert "pop_orders_30m" in features.venue_columns
    assert features.get("time_of_day") is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"customer_venue": {"half_life_hours": -1}},
            "customer_venue.half_life_hours must be > 0, got -1",
        ),
        (
            {"customer_venue": {"half_life": 3}},
            "customer_venue: unknown option 'half_life'; options are: ",
        ),
        (
            {"venue_engagement": {"prior_ctr": 1.5}},
            "prior_ctr must be strictly between 0 and 1, got 1.5",
        ),
        (
            {"venue_popularity": {"windows": ["1w"]}},
            "windows must be like '1h', '90m' or '7d', got '1w'",
        ),
        (
            {"venue_popularity": {"windows": ["150m"]}},
            "a whole number of 3600 s buckets, got '150m'",
        ),
        (
            {"venue_popularity": {"ttl_days": 2}},
            "ttl_days must be >= the longest window (7 days), got 2",
        ),
        (
            {"time_of_day": {"timezone": "Mars/Olympus"}},
            "an IANA time zone such as 'Europe/Helsinki'",
        ),
        ({"time_of_day": {"resolution": "minute"}}, "resolution must be 'hour' or 'daypart'"),
        (
            {"customer_price": {"prior_level": 7}},
            "customer_price.prior_level must be within 1-4, got 7",
        ),
        ({"co_purchase": {"max_items_per_order": 1}}, "max_items_per_order must be >= 2, got 1"),
        (
            {"cuisine_affinity": {"tags": "categories"}},
            "cuisine_affinity.tags is fixed to 'cuisines'",
        ),
        ({"co_purchase": {"enabled": "no"}}, "co_purchase.enabled must be true or false, got 'no'"),
        (
            {"recommendations": {}},
            "features: unknown feature 'recommendations'; known: customer_venue",
        ),
    ],
)
def test_mistakes_are_named(config: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        FeatureSet.from_config(config)
    assert message in str(caught.value)


def test_store_specs_and_the_registry_name_their_mistakes() -> None:
    with pytest.raises(ConfigurationError, match=r"map cv\.half_life_s must be > 0, got 0"):
        MapSpec("cv", "u", half_life_s=0, ttl_s=1)
    with pytest.raises(ConfigurationError, match="lowercase letters"):
        MapSpec("Customer Venue", "u", half_life_s=1, ttl_s=1)
    with pytest.raises(
        ConfigurationError, match="unknown feature store 'mongo'; choose one of: memory, redis"
    ):
        open_store("mongo")
    with pytest.raises(ConfigurationError, match=r"'memory'.*unexpected keyword argument"):
        open_store("memory", url="redis://")
