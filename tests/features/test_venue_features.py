"""Venue features: sliding windows, hour of week, engagement rates, the batch profile."""

from __future__ import annotations

import numpy as np
import pytest

from palate.domain.events import Event
from palate.features.feature_set import FeatureSet
from palate.features.service import FeatureService
from palate.features.store import FeatureStore, SnapshotSpec
from palate.features.store.memory import MemoryFeatureStore
from palate.features.venue_profile import VenueProfile
from tests.features.events import DAY, FRIDAY, HOUR, click, impression, order, table


def test_popularity_windows_follow_event_time(service: FeatureService) -> None:
    ages = [10, 30, 50, 90, 60 * 5, 60 * 30, 60 * 24 * 3, 60 * 24 * 9]  # minutes before FRIDAY
    service.ingest(
        table([order(f"u{k}", "v1", FRIDAY - age * HOUR / 60) for k, age in enumerate(ages)])
    )
    got = service.venue_features(None, ["v1", "v2"], FRIDAY)
    assert got["pop_orders_1h"].tolist() == [3.0, 0.0]
    assert got["pop_orders_24h"].tolist() == [5.0, 0.0]
    assert got["pop_orders_7d"].tolist() == [7.0, 0.0]
    later = service.venue_features(None, ["v1"], FRIDAY + 2 * HOUR)
    assert later["pop_orders_1h"].tolist() == [0.0]


def test_a_late_order_counts_in_the_window_of_its_time(service: FeatureService) -> None:
    service.ingest(table([order("u1", "v1", FRIDAY)]))
    service.ingest(table([order("u2", "v1", FRIDAY - 20 * HOUR / 60)]))  # arrives late
    service.ingest(table([order("u3", "v1", FRIDAY - 3 * DAY)]))  # very late
    got = service.venue_features(None, ["v1"], FRIDAY)
    assert got["pop_orders_1h"].tolist() == [2.0]
    assert got["pop_orders_7d"].tolist() == [3.0]


def test_hour_of_week_popularity_and_lift(store: FeatureStore) -> None:
    service = FeatureService(
        store, FeatureSet.from_config({"venue_popularity": {"timezone": "Europe/Helsinki"}})
    )
    # Friday dinners at 19:xx Helsinki for four weeks, and one Monday lunch.
    dinners = [order("u1", "v1", FRIDAY - k * 7 * DAY + 10 * HOUR / 60) for k in range(4)]
    service.ingest(table([*dinners, order("u1", "v1", FRIDAY - 4 * DAY - 5 * HOUR)]))
    friday = service.venue_features(None, ["v1", "v2"], FRIDAY + 30 * HOUR / 60)
    monday_lunch = service.venue_features(None, ["v1"], FRIDAY - 4 * DAY - 5 * HOUR)
    tuesday = service.venue_features(None, ["v1"], FRIDAY - 3 * DAY)
    ages = [(20 * HOUR / 60 + 7 * k * DAY) / (28 * DAY) for k in range(4)]  # 28-day half-life
    assert friday["pop_how"][0] == pytest.approx(sum(0.5**age for age in ages), rel=1e-9)
    assert friday["pop_how_lift"][0] > 100  # 4 of ~5 orders in one of 168 hours
    assert friday["pop_how_lift"][1] == 1.0  # nothing known: neutral
    assert 0.0 < monday_lunch["pop_how"][0] <= 1.0
    assert tuesday["pop_how"][0] == 0.0
    assert tuesday["pop_how_lift"][0] < 1.0


def test_engagement_rates_move_from_the_prior_with_evidence(service: FeatureService) -> None:
    events: list[Event] = [impression("u", v, FRIDAY) for v in ("hot", "cold") for _ in range(200)]
    events += [click("u", "hot", FRIDAY) for _ in range(60)]
    events += [click("u", "cold", FRIDAY) for _ in range(2)]
    events += [order("u", "hot", FRIDAY) for _ in range(30)]
    service.ingest(table(events))
    got = service.venue_features("u", ["hot", "cold", "new"], FRIDAY)
    prior_ctr, prior_cvr, k = 0.05, 0.2, 50.0
    assert got["ctr"].tolist() == pytest.approx(
        [(60 + prior_ctr * k) / (200 + k), (2 + prior_ctr * k) / (200 + k), prior_ctr]
    )
    assert got["ctr"][0] > prior_ctr > got["ctr"][1]
    assert got["cvr"].tolist() == pytest.approx(
        [(30 + prior_cvr * k) / (60 + k), (0 + prior_cvr * k) / (2 + k), prior_cvr]
    )
    assert got["impressions"].tolist() == [200.0, 200.0, 0.0]


def test_engagement_decays_with_its_half_life(service: FeatureService) -> None:
    service.ingest(table([impression("u", "v1", FRIDAY) for _ in range(100)]))
    week_later = service.venue_features(None, ["v1"], FRIDAY + 7 * DAY)
    assert week_later["impressions"][0] == pytest.approx(50.0)


def test_the_venue_profile_is_published_as_a_snapshot(service: FeatureService) -> None:
    log = [
        order("a", "v1", FRIDAY - DAY, total=10.0),
        order("a", "v1", FRIDAY - 2 * DAY, total=30.0),
    ]
    log += [order("b", "v1", FRIDAY - DAY, total=20.0), order("b", "v2", FRIDAY - 100 * DAY)]
    before = service.venue_features(None, ["v1", "v2"], FRIDAY)
    assert before["vp_orders"].tolist() == [0.0, 0.0]
    versions = service.refresh_snapshots(table(log), FRIDAY)
    got = service.venue_features(None, ["v1", "v2"], FRIDAY)
    assert versions == {"venue_profile": 1}
    assert got["vp_orders"].tolist() == [3.0, 0.0]  # v2's order is older than 90 days
    assert got["vp_customers"].tolist() == [2.0, 0.0]
    assert got["vp_repeat_rate"].tolist() == [0.5, 0.0]
    assert got["vp_avg_total"].tolist() == [20.0, 0.0]


class RefusingActivation(MemoryFeatureStore):
    """A real memory store whose activation fails, as a crashed refresh job would."""

    def activate_snapshot(self, spec: SnapshotSpec, version: int) -> None:
        raise RuntimeError("refresh job died")


def test_a_failed_refresh_keeps_the_previous_profile() -> None:
    store = RefusingActivation()
    profile = VenueProfile()
    version = store.begin_snapshot(profile.spec)
    store.put_snapshot(profile.spec, version, ["v1"], np.array([[7, 1, 0, 9]], dtype=np.float32))
    MemoryFeatureStore.activate_snapshot(store, profile.spec, version)
    service = FeatureService(store)
    with pytest.raises(RuntimeError, match="refresh job died"):
        service.refresh_snapshots(table([order("a", "v1", FRIDAY)]), FRIDAY)
    assert service.venue_features(None, ["v1"], FRIDAY)["vp_orders"].tolist() == [7.0]
    with pytest.raises(Exception, match="no open version 2"):
        MemoryFeatureStore.activate_snapshot(store, profile.spec, 2)  # it was discarded
