"""Customer features on tiny hand-built histories, against every store adapter."""

from __future__ import annotations

from datetime import datetime

import pytest

from palate.features.feature_set import FeatureSet
from palate.features.service import FeatureService
from palate.features.store import FeatureStore
from tests.features.events import DAY, FRIDAY, HOUR, click, order, table

VENUES = ["sushi1", "pizza1", "burger1", "shop1", "unknown"]


def test_three_orders_count_three_decayed_by_their_age(service: FeatureService) -> None:
    times = [FRIDAY - 10 * DAY, FRIDAY - 3 * DAY, FRIDAY - DAY]
    service.ingest(
        table([order("u1", "sushi1", t) for t in times] + [order("u2", "pizza1", FRIDAY)])
    )
    got = service.venue_features("u1", VENUES, FRIDAY)
    half_life = 30 * DAY  # the default 720 hours
    want = sum(0.5 ** ((FRIDAY - t) / half_life) for t in times)
    assert got["cv_orders"][0] == pytest.approx(want, rel=1e-9)
    assert got["cv_orders"][1:].tolist() == [0.0] * 4
    assert got["cv_days_since"].tolist() == pytest.approx([1.0, 365, 365, 365, 365])
    assert got["cv_recency"][0] == pytest.approx(0.5 ** (1 / 7))  # one day, 7-day half-life
    assert got["cv_recency"][1] == 0.0


def test_an_anonymous_request_gets_neutral_customer_columns(service: FeatureService) -> None:
    service.ingest(table([order("u1", "sushi1", FRIDAY)]))
    got = service.venue_features(None, VENUES, FRIDAY)
    assert got["cv_orders"].tolist() == [0.0] * 5
    assert got["cuisine_affinity"].tolist() == [0.0] * 5
    assert got["price_mean"].tolist() == [2.0] * 5
    assert got["tod_share"][0] == pytest.approx(1 / 6)


def test_cuisine_affinity_is_the_share_of_the_venues_best_cuisine(service: FeatureService) -> None:
    # Three sushi orders (split over sushi and japanese) and one pizza order, all just now.
    events = [order("u1", "sushi1", FRIDAY - k * HOUR) for k in range(3)]
    events.append(order("u1", "pizza1", FRIDAY - HOUR))
    service.ingest(table(events))
    got = service.venue_features("u1", VENUES, FRIDAY)["cuisine_affinity"]
    # Weights at read time barely differ (60-day half-life); sushi holds 1.5 of 4 orders.
    assert got[0] == pytest.approx(1.5 / 4, rel=1e-3)
    assert got[1] == pytest.approx(1 / 4, rel=1e-3)
    assert got[2:].tolist() == [0.0] * 3


def test_category_affinity_counts_clicks_lightly(service: FeatureService) -> None:
    service.ingest(table([order("u1", "pizza1", FRIDAY), click("u1", "shop1", FRIDAY)]))
    got = service.venue_features("u1", VENUES, FRIDAY)["category_affinity"]
    assert got[0] == got[1] == pytest.approx(1 / 1.1)  # restaurant: the order
    assert got[3] == pytest.approx(0.1 / 1.1)  # grocery: one click at weight 0.1


def test_price_level_is_a_shrunk_mean_of_ordered_levels(service: FeatureService) -> None:
    # Levels 3 and 1 plus one pseudo-order at level 2: the mean is 2.
    service.ingest(table([order("u1", "sushi1", FRIDAY), order("u1", "burger1", FRIDAY)]))
    service.ingest(table([order("u2", "sushi1", FRIDAY - DAY * k) for k in range(3)]))
    mine = service.venue_features("u1", VENUES, FRIDAY)
    theirs = service.venue_features("u2", VENUES, FRIDAY)
    assert mine["price_mean"][0] == pytest.approx(2.0)
    assert mine["price_fit"].tolist() == pytest.approx([2 / 3, 1.0, 2 / 3, 1.0, 0.0])
    assert 2.5 < theirs["price_mean"][0] < 3.0
    assert theirs["price_fit"][0] > theirs["price_fit"][1] > theirs["price_fit"][2]


def test_time_of_day_uses_the_local_day_part(store: FeatureStore) -> None:
    config = {"time_of_day": {"timezone": "Europe/Helsinki"}}
    service = FeatureService(store, FeatureSet.from_config(config))
    # 16:00 UTC is 19:00 in Helsinki: dinner. Four dinners and one lunch (08:00 UTC = 11:00).
    dinners = [FRIDAY - k * DAY for k in range(4)]
    lunch = FRIDAY - 8 * HOUR
    service.ingest(table([order("u1", "v", t) for t in [*dinners, lunch]]))
    now = FRIDAY + HOUR

    def weight(t: datetime) -> float:
        return float(0.5 ** ((now - t) / (90 * DAY)))

    dinner_weight = sum(weight(t) for t in dinners)
    want = (dinner_weight + 1 / 6) / (dinner_weight + weight(lunch) + 1)
    at_dinner = service.venue_features("u1", ["v"], now)["tod_share"][0]
    at_lunch = service.venue_features("u1", ["v"], FRIDAY - 7 * HOUR)["tod_share"][0]
    at_night = service.venue_features("u1", ["v"], FRIDAY - 14 * HOUR)["tod_share"][0]
    assert at_dinner == pytest.approx(want, rel=1e-9)
    assert at_dinner > at_lunch > at_night > 0


def test_hourly_resolution_has_24_slots(store: FeatureStore) -> None:
    config = {"time_of_day": {"resolution": "hour", "prior_weight": 0}}
    service = FeatureService(store, FeatureSet.from_config(config))
    service.ingest(table([order("u1", "v", FRIDAY), order("u1", "v", FRIDAY + HOUR)]))
    shares = [
        service.venue_features("u1", ["v"], FRIDAY + h * HOUR)["tod_share"][0] for h in range(3)
    ]
    assert shares[0] == pytest.approx(0.5, rel=1e-3)
    assert shares[1] == pytest.approx(0.5, rel=1e-3)
    assert shares[2] == 0.0
