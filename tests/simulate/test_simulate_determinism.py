"""The simulator is a pure function of its config (and policy seed)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from palate.simulate import (
    PopularityDistancePolicy,
    SimulationConfig,
    SimulationResult,
    simulate,
)
from tests.simulate.runs import SMALL


def test_same_seed_gives_identical_events_catalog_and_truth(small: SimulationResult) -> None:
    again = simulate(SMALL)
    assert again.events.equals(small.events)
    assert again.catalog.venues == small.catalog.venues
    assert again.catalog.items == small.catalog.items
    assert np.array_equal(again.truth.affinity, small.truth.affinity)


def test_different_seed_gives_different_events(small: SimulationResult) -> None:
    other = simulate(replace(SMALL, seed=SMALL.seed + 1))
    assert not other.events.equals(small.events)
    assert other.catalog.venues["v0"].location != small.catalog.venues["v0"].location


def test_default_policy_is_popularity_and_distance_seeded_by_config(
    small: SimulationResult,
) -> None:
    explicit = simulate(SMALL, PopularityDistancePolicy(seed=SMALL.seed))
    assert explicit.events.equals(small.events)


@pytest.mark.parametrize(
    "kwargs",
    [{"n_cities": 4}, {"customers": 0}, {"step_hours": 5}, {"impressions_per_session": 0}],
)
def test_invalid_configs_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        SimulationConfig(**kwargs)  # type: ignore[arg-type]
