"""The ground truth: a vectorised utility oracle that survives a save and load."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from palate.simulate import GroundTruth, SimulationResult

MONDAY_NOON = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)  # 12:00 in Helsinki


def test_save_and_load_round_trip(small: SimulationResult, tmp_path: Path) -> None:
    small.truth.save(tmp_path / "truth")
    loaded = GroundTruth.load(tmp_path / "truth")
    assert loaded.start_date == small.truth.start_date
    assert loaded.timezones == small.truth.timezones
    assert np.array_equal(loaded.affinity, small.truth.affinity)
    users, venues = np.arange(50)[:, None], np.arange(40)[None, :]
    assert np.array_equal(
        loaded.utility(users, venues, MONDAY_NOON), small.truth.utility(users, venues, MONDAY_NOON)
    )
    assert {p.name for p in (tmp_path / "truth").iterdir()} == {"truth.npz", "truth.json"}


def test_utility_broadcasts_and_accepts_string_ids(small: SimulationResult) -> None:
    truth = small.truth
    grid = truth.utility(np.arange(3)[:, None], np.arange(4)[None, :], MONDAY_NOON)
    assert grid.shape == (3, 4)
    assert np.all(np.isfinite(grid))
    named = truth.utility(["u0", "u1", "u2"], ["v3", "v3", "v3"], MONDAY_NOON)
    assert np.allclose(named, grid[:, 3])


def test_utility_accepts_one_time_per_pair(small: SimulationResult) -> None:
    truth = small.truth
    evening = datetime(2026, 9, 7, 16, 0, tzinfo=UTC)
    when = np.array(
        [MONDAY_NOON.replace(tzinfo=None), evening.replace(tzinfo=None)], "datetime64[us]"
    )
    pairwise = truth.utility(np.array([0, 0]), np.array([5, 5]), when)
    assert pairwise[0] == pytest.approx(truth.utility([0], [5], MONDAY_NOON)[0])
    assert pairwise[1] == pytest.approx(truth.utility([0], [5], evening)[0])


def test_breakfast_places_are_worth_more_in_the_morning(small: SimulationResult) -> None:
    catalog, truth = small.catalog, small.truth
    breakfast = [int(v.id[1:]) for v in catalog.venues.values() if v.cuisines[0] == "breakfast"]
    home = truth.home_lat[:1], truth.home_lon[:1]
    morning = truth.utility([0], breakfast, datetime(2026, 9, 12, 6, 0, tzinfo=UTC), *home)
    night = truth.utility([0], breakfast, datetime(2026, 9, 12, 18, 0, tzinfo=UTC), *home)
    assert np.all(morning > night + 1.0)


def test_utility_falls_with_distance(small: SimulationResult) -> None:
    truth = small.truth
    lat, lon = truth.venue_lat[:1], truth.venue_lon[:1]
    near = truth.utility([0], [0], MONDAY_NOON, lat, lon)
    far = truth.utility([0], [0], MONDAY_NOON, lat + 0.05, lon)
    assert far[0] < near[0]


def test_naive_times_are_refused(small: SimulationResult) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        small.truth.utility([0], [0], datetime(2026, 9, 7, 12, 0))  # noqa: DTZ001
