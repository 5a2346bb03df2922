"""The serving fast path for venue features agrees with the store read, and stays fresh."""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import pytest

from palate.domain.events import Event
from palate.features.feature_set import FeatureSet
from palate.features.service import FeatureService
from palate.features.store import FeatureStore
from palate.features.venue_attributes import VenueAttributes
from tests.features.events import DAY, FRIDAY, HOUR, click, impression, order, table

UNIVERSE = np.array(["sushi1", "pizza1", "burger1", "shop1", "ghost"], dtype=object)


def fast_service(store: FeatureStore, max_age_s: float = 60.0) -> FeatureService:
    attributes = VenueAttributes.build(
        cuisines={"sushi1": ["sushi", "japanese"], "pizza1": ["pizza"], "burger1": ["burger"]},
        categories={"sushi1": ["restaurant"], "pizza1": ["restaurant"], "shop1": ["grocery"]},
        price_levels={"sushi1": 3, "pizza1": 2, "burger1": 1, "shop1": 2},
    )
    return FeatureService(store, FeatureSet.from_config(), attributes, frame_max_age_s=max_age_s)


def history() -> list[Event]:
    events: list[Event] = []
    for k in range(6):
        at = FRIDAY - k * DAY - 2 * HOUR
        events += [order("u1", "sushi1", at, items=(("s1", 2),)), order(f"x{k}", "pizza1", at)]
        events += [impression("u1", "burger1", at), click("u1", "burger1", at)]
    events += [impression(f"y{k}", "shop1", FRIDAY - HOUR) for k in range(30)]
    return events


@pytest.mark.parametrize("user", ["u1", "stranger", None])
def test_the_fast_path_equals_the_store_read_column_for_column(
    store: FeatureStore, user: str | None
) -> None:
    service = fast_service(store)
    service.ingest(table(history()))
    rows = np.array([3, 0, 4, 1, 2], dtype=np.intp)  # any order, with an unknown venue
    fast = service.venue_features_at(user, UNIVERSE, rows, FRIDAY)
    slow = service.venue_features(user, UNIVERSE[rows].tolist(), FRIDAY)
    assert list(fast) == list(slow)  # same columns, same order
    for name in slow:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-12, err_msg=name)
    assert (fast["cv_orders"][1] > 0) == (user == "u1")  # personal columns are the user's
    assert fast["pop_orders_7d"][3] > 0  # pizza1's orders, from the frame
    assert service.venue_frame.full_builds == 1


def test_a_local_event_is_visible_to_the_next_ranking(store: FeatureStore) -> None:
    service = fast_service(store)
    rows = np.arange(len(UNIVERSE), dtype=np.intp)
    before = service.venue_features_at(None, UNIVERSE, rows, FRIDAY)["pop_orders_1h"]
    service.ingest(table([order("u9", "burger1", FRIDAY - timedelta(minutes=5))]))
    after = service.venue_features_at(None, UNIVERSE, rows, FRIDAY)["pop_orders_1h"]
    assert after[2] == before[2] + 1  # burger1 patched
    assert after[[0, 1, 3, 4]].tolist() == before[[0, 1, 3, 4]].tolist()
    assert service.venue_frame.full_builds == 1  # a patch, not a rebuild
    assert service.venue_frame.patched_rows == 1


def test_the_frame_is_rebuilt_when_time_moves_past_its_age(store: FeatureStore) -> None:
    service = fast_service(store, max_age_s=60.0)
    service.ingest(table([order("u1", "pizza1", FRIDAY - 10 * timedelta(minutes=1))]))
    rows = np.array([1], dtype=np.intp)
    now = service.venue_features_at(None, UNIVERSE, rows, FRIDAY)["pop_orders_1h"]
    soon = service.venue_features_at(None, UNIVERSE, rows, FRIDAY + timedelta(seconds=30))
    later = service.venue_features_at(None, UNIVERSE, rows, FRIDAY + 2 * HOUR)
    assert now.tolist() == soon["pop_orders_1h"].tolist() == [1.0]
    assert later["pop_orders_1h"].tolist() == [0.0]  # the order left the 1 h window
    assert service.venue_frame.full_builds == 2


def test_a_new_catalog_version_rebuilds_the_frame(store: FeatureStore) -> None:
    service = fast_service(store)
    rows = np.array([0], dtype=np.intp)
    service.venue_features_at(None, UNIVERSE, rows, FRIDAY)
    grown = np.array([*UNIVERSE, "new1"], dtype=object)
    service.venue_features_at(None, grown, np.array([5], dtype=np.intp), FRIDAY)
    service.update_attributes(VenueAttributes.empty())
    service.venue_features_at(None, grown, rows, FRIDAY)
    assert service.venue_frame.full_builds == 3


def test_max_age_zero_reads_the_store_every_time(store: FeatureStore) -> None:
    service = fast_service(store, max_age_s=0.0)
    rows = np.array([1], dtype=np.intp)
    service.venue_features_at(None, UNIVERSE, rows, FRIDAY)
    assert not service.venue_frame.enabled
    assert service.venue_frame.full_builds == 0


def test_another_replicas_writes_show_after_a_background_rebuild(store: FeatureStore) -> None:
    max_age_s = 0.5
    service = fast_service(store, max_age_s=max_age_s)
    other_replica = fast_service(store)  # same store, its own process state
    rows = np.array([1], dtype=np.intp)

    def pizza_orders() -> float:
        return float(service.venue_features_at(None, UNIVERSE, rows, FRIDAY)["pop_orders_1h"][0])

    built = time.monotonic()  # the frame is built by the first read, at or after this
    assert pizza_orders() == 0.0
    other_replica.ingest(table([order("u1", "pizza1", FRIDAY - timedelta(minutes=5))]))
    seen = pizza_orders()
    if time.monotonic() - built < max_age_s:  # a slow machine may already be past the age
        assert seen == 0.0  # not this process's write: a fresh frame does not know yet
    deadline = time.monotonic() + 5.0
    while pizza_orders() == 0.0 and time.monotonic() < deadline:
        time.sleep(0.02)  # each read of a stale frame may start a rebuild; none waits for it
    assert pizza_orders() == 1.0
    assert service.venue_frame.full_builds >= 2
