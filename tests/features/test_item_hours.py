"""Item popularity at this hour, counted in the local time of the venue's city."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from palate.features.feature_set import FeatureSet
from palate.features.item_hours import ItemHourConfig, ItemHourPopularity
from palate.features.service import FeatureService
from palate.features.store import FeatureStore
from palate.features.venue_attributes import VenueAttributes
from tests.features.events import DAY, order, table

# Helsinki is UTC+3 in May: 05:00 UTC is breakfast at 08:00, 17:00 UTC dinner at 20:00.
BREAKFAST = datetime(2024, 5, 6, 5, 0, tzinfo=UTC)
DINNER = datetime(2024, 5, 6, 17, 0, tzinfo=UTC)
ITEMS = ["porridge", "steak", "fries", "rare"]
# Read the next day, after every order (reads before an event would see it grow, not decay).
MORNING, EVENING = BREAKFAST + DAY, DINNER + DAY


def _service(store: FeatureStore) -> tuple[FeatureService, ItemHourPopularity]:
    attributes = VenueAttributes.build(timezones={"cafe": "Europe/Helsinki"})
    service = FeatureService(store, FeatureSet.from_config(), attributes)
    feature = service.features.get("item_hour_popularity")
    assert isinstance(feature, ItemHourPopularity)
    return service, feature


def _read(
    service: FeatureService, feature: ItemHourPopularity, at: datetime
) -> dict[str, np.ndarray]:
    zone = service.attributes.timezones.get("cafe")
    return feature.read(service.store, "cafe", ITEMS, at, zone)


def _week_of_orders() -> list[object]:
    """Porridge at breakfast, steak at dinner, fries at both, one rare item once at dinner."""
    events = []
    for day in range(7):
        morning, evening = BREAKFAST - day * DAY, DINNER - day * DAY
        events += [order(f"m{day}", "cafe", morning, items=[("porridge", 1), ("fries", 1)])]
        events += [order(f"e{day}", "cafe", evening, items=[("steak", 1), ("fries", 1)])]
    events.append(order("x", "cafe", DINNER - 3 * DAY, items=[("rare", 1)]))
    return events


def test_hour_popularity_follows_the_local_hour_of_the_venue(store: FeatureStore) -> None:
    service, feature = _service(store)
    service.ingest(table(_week_of_orders()))  # type: ignore[arg-type]
    morning, evening = _read(service, feature, MORNING), _read(service, feature, EVENING)
    porridge, steak, fries, rare = range(4)
    assert morning["item_hour_lift"][porridge] > 1.5 > 0.5 > evening["item_hour_lift"][porridge]
    assert evening["item_hour_lift"][steak] > 1.5 > 0.5 > morning["item_hour_lift"][steak]
    assert morning["item_pop_hour"][porridge] > morning["item_pop_hour"][steak]
    assert evening["item_pop_hour"][steak] > evening["item_pop_hour"][porridge]
    # Sold evenly at the venue's two busy hours: the hour changes nothing.
    assert morning["item_hour_lift"][fries] == pytest.approx(1.0, abs=0.1)
    assert evening["item_hour_lift"][fries] == pytest.approx(1.0, abs=0.1)
    # One sale is not a pattern: smoothing keeps the rare item near its all-day popularity.
    assert 0.5 < morning["item_hour_lift"][rare] < evening["item_hour_lift"][rare] < 1.5


def test_utc_hours_would_be_wrong_and_unknown_venues_read_as_neutral(store: FeatureStore) -> None:
    service, feature = _service(store)
    service.ingest(table(_week_of_orders()))  # type: ignore[arg-type]
    # 08:00 UTC is 11:00 in Helsinki, when nothing sells: no item stands out.
    late_morning = _read(service, feature, MORNING.replace(hour=8))
    assert late_morning["item_hour_lift"][0] < 1.0
    unknown = feature.read(service.store, "nowhere", ITEMS, MORNING, None)
    assert unknown["item_pop_hour"].tolist() == [0.0] * 4
    assert unknown["item_hour_lift"].tolist() == pytest.approx([1.0] * 4)


def test_config_is_checked_by_name() -> None:
    with pytest.raises(Exception, match=r"item_hour_popularity\.prior_quantity must be > 0"):
        ItemHourConfig(prior_quantity=0)
    with pytest.raises(Exception, match=r"item_hour_popularity\.timezone"):
        ItemHourConfig(timezone="Mars/Olympus")
    assert (
        FeatureSet.from_config({"item_hour_popularity": {"enabled": False}}).get(
            "item_hour_popularity"
        )
        is None
    )
