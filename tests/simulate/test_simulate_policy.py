"""Ranking policies plug into the simulator and change what customers see and order."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from palate.simulate import (
    OraclePolicy,
    PopularityDistancePolicy,
    RandomPolicy,
    SessionBatch,
    SimulationConfig,
    simulate,
    summarize,
)
from palate.simulate.engine import build_world
from tests.simulate.runs import of_type

CONFIG = SimulationConfig(seed=9, customers=600, days=14)


@dataclass
class Recording:
    """Wraps a policy and keeps what it was asked and what it answered."""

    inner: PopularityDistancePolicy = field(default_factory=PopularityDistancePolicy)
    calls: list[tuple[SessionBatch, np.ndarray, np.ndarray]] = field(default_factory=list)

    def score(self, batch: SessionBatch, candidates: np.ndarray) -> np.ndarray:
        scores = self.inner.score(batch, candidates)
        self.calls.append((batch, candidates, scores))
        return scores


def test_impressions_follow_the_policys_scores() -> None:
    policy = Recording()
    result = simulate(CONFIG, policy)
    assert policy.calls
    batch, candidates, scores = policy.calls[len(policy.calls) // 2]
    assert candidates.shape == scores.shape == batch.distance_m.shape == batch.past_orders.shape
    assert len(batch) == candidates.shape[0]
    assert np.all((candidates >= 0) | (candidates == -1))
    shown = of_type(result, "impression")
    for row in range(min(len(batch), 20)):
        valid = candidates[row] >= 0
        order = np.argsort(-scores[row][valid], kind="stable")
        expected = [
            f"v{v}" for v in candidates[row][valid][order][: CONFIG.impressions_per_session]
        ]
        served = shown.filter(pl.col("request_id") == f"r{batch.request[row]}").sort("position")
        assert served["venue_id"].to_list() == expected


def test_candidates_are_in_the_sessions_city_and_past_orders_are_counted() -> None:
    config = replace(CONFIG, n_cities=2, venues_per_city=150)
    policy = Recording()
    simulate(config, policy)
    world = build_world(config)
    past = 0
    for batch, candidates, _ in policy.calls:
        cities = world.venues.city[candidates[candidates >= 0]]
        assert np.all(cities == batch.city)
        past += int(batch.past_orders.sum())
    assert past > 0


def test_a_better_policy_sells_more() -> None:
    random_run = simulate(CONFIG, RandomPolicy(seed=1))
    oracle_run = simulate(CONFIG, OraclePolicy(build_world(CONFIG).truth))
    default_run = simulate(CONFIG)
    random_orders = summarize(random_run).orders
    assert summarize(oracle_run).orders > 1.2 * random_orders
    assert summarize(default_run).orders > random_orders
    assert summarize(oracle_run).sessions == summarize(random_run).sessions
