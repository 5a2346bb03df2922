"""Thompson sampling with hierarchical priors, the exploration budget, and the arm counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from palate.domain.geo import Location
from palate.domain.market import City
from palate.events.schema import conform
from palate.experiments.arms import BanditConfig, order_arms
from palate.experiments.budget import ExplorationBudget, budgeted_order
from palate.experiments.thompson import hierarchical_posterior, posterior_mean, request_rng
from palate.features.entity_engagement import CityLocator, EntityEngagement, Evidence
from palate.features.store import open_store

NOW = datetime(2026, 9, 18, 17, 30, tzinfo=UTC)
CITIES = {
    "hel": City("hel", "Helsinki", "fi", Location(60.17, 24.94)),
    "tku": City("tku", "Turku", "fi", Location(60.45, 22.27)),
}


def test_a_customer_without_history_inherits_the_city_which_inherits_the_market() -> None:
    market = Evidence(np.array([5.0, 5.0]), np.array([100.0, 100.0]))
    city = Evidence(np.array([40.0, 0.0]), np.array([100.0, 100.0]))
    nobody = Evidence.none(2)
    post = hierarchical_posterior([market, city, nobody], base_rate=0.05, strength=20.0)
    assert post.mean[0] > 0.2 > 0.05 > post.mean[1]
    # the customer's own evidence overrides the city's contrast
    mine = Evidence(np.array([0.0, 60.0]), np.array([200.0, 100.0]))
    post = hierarchical_posterior([market, city, mine], base_rate=0.05, strength=20.0)
    assert post.mean[1] > post.mean[0]


def test_clicks_beyond_impressions_never_break_the_posterior() -> None:
    post = hierarchical_posterior(
        [Evidence(np.array([10.0]), np.array([2.0]))], base_rate=0.05, strength=5.0
    )
    assert 0.0 < float(post.mean[0]) < 1.0
    assert np.all(post.beta > 0)


@pytest.mark.parametrize("seed", range(5))
def test_a_one_arm_level_folds_into_the_next_levels_base_rate_exactly(seed: int) -> None:
    """New-venue exploration reads a single city as one number: its posterior mean as the
    venues' base rate must give the very posterior the two-level form gives (same floats)."""
    rng = np.random.default_rng(seed)
    impressions = rng.uniform(0.0, 500.0, 40)
    clicks = impressions * rng.uniform(0.0, 0.2, 40)
    clicks[::7] = impressions[::7] + 3.0  # lost beacons: more clicks than impressions
    venues = Evidence(clicks, impressions)
    city = Evidence(np.add.reduce(clicks, keepdims=True), np.add.reduce(impressions, keepdims=True))
    base, strength = float(rng.uniform(0.001, 0.2)), float(rng.uniform(1.0, 50.0))
    two_level = hierarchical_posterior([city, venues], base, strength)
    mean = posterior_mean(float(city.clicks[0]), float(city.impressions[0]), base, strength)
    folded = hierarchical_posterior([venues], mean, strength)
    assert np.array_equal(folded.alpha, two_level.alpha)
    assert np.array_equal(folded.beta, two_level.beta)


@pytest.mark.parametrize(("slots", "share"), [(0, 1.0), (1, 1.0), (2, 0.25), (5, 0.5)])
def test_the_budget_bounds_explored_entries_for_every_draw(slots: int, share: float) -> None:
    budget = ExplorationBudget(slots, share)
    rng = np.random.default_rng(3)
    for _ in range(200):
        exploit = rng.random(12)
        sampled = rng.random(12)
        result = budgeted_order(exploit, sampled, budget, shown=8)
        assert int(result.explored.sum()) <= budget.slots(8)
        assert sorted(result.order.tolist()) == list(range(12))
        assert np.all(np.diff(result.score) <= 0)
        if slots == 0:
            assert result.order.tolist() == np.argsort(-exploit, kind="stable").tolist()


def test_unseen_arms_get_explored_and_a_known_dud_does_not_get_promoted() -> None:
    # arm 0: known good; arm 1: known dud; arms 2-5: never shown (wide posteriors)
    clicks = np.array([30.0, 0.0, 0, 0, 0, 0])
    shows = np.array([300.0, 2000.0, 0, 0, 0, 0])
    levels = [Evidence.none(6), Evidence.none(6), Evidence(clicks, shows)]
    config, budget = BanditConfig(prior_strength=5.0), ExplorationBudget(1, 1.0)
    explored = np.zeros(6)
    for seed in range(300):
        result = order_arms(levels, np.zeros(6), config, request_rng(0, str(seed)), budget, 6)
        explored[result.order[result.explored]] += 1
    assert explored[1] == 0
    assert explored[2:].sum() > 100


def test_impressions_and_clicks_count_per_customer_city_and_market() -> None:
    store = open_store("memory")
    engagement = EntityEngagement(store, CityLocator(CITIES))
    at = [NOW - timedelta(minutes=m) for m in (3, 2, 1)]
    table = conform(
        pa.table(
            {
                "event_id": ["e1", "e2", "e3"],
                "type": ["impression", "impression", "click"],
                "user_id": ["u1", "u1", "u1"],
                "ts": pa.array(at, pa.timestamp("us", tz="UTC")),
                "lat": [60.2, 60.2, None],
                "lon": [24.9, 24.9, None],
                "request_id": ["r1", "r1", "r1"],
                "premise": ["banners", "discovery", None],
                "section": [None, "new", None],
                "position": [0, 3, None],
                "entity_kind": ["banner", "venue", "venue"],
                "entity_id": ["n0", "v7", "v7"],
            }
        )
    )
    assert engagement.ingest(table) > 0
    arms = ["banner:n0", "section:new", "section:for_you"]
    market, city, user = engagement.evidence(arms, "u1", "hel", "fi", NOW)
    for level in (market, city, user):
        assert level.impressions.round(2).tolist() == [1.0, 1.0, 0.0]
        # the click carried no section and no location: both came from its impression
        assert level.clicks.round(2).tolist() == [0.0, 1.0, 0.0]
    _, other_city, other_user = engagement.evidence(arms, "u2", "tku", "fi", NOW)
    assert other_city.impressions.sum() == 0
    assert other_user.impressions.sum() == 0


def _venue_events(types: list[str], sections: list[str | None], first: int) -> pa.Table:
    n = len(types)
    return conform(
        pa.table(
            {
                "event_id": [f"v{first + k}" for k in range(n)],
                "type": types,
                "user_id": ["u1"] * n,
                "ts": pa.array([NOW] * n, pa.timestamp("us", tz="UTC")),
                "lat": [60.2] * n,
                "lon": [24.9] * n,
                "request_id": [f"r{first + k}" for k in range(n)],
                "premise": ["discovery"] * n,
                "section": sections,
                "position": [0] * n,
                "entity_kind": ["venue"] * n,
                "entity_id": ["v7"] * n,
            }
        )
    )


def test_plain_venue_impressions_count_nothing_and_keep_no_attribution_memory() -> None:
    """Only entry points, sections and clicks can move an arm; a batch of plain Discovery
    impressions is skipped, and never evicts the impressions clicks are attributed to."""
    store = open_store("memory")
    engagement = EntityEngagement(store, CityLocator(CITIES))
    assert engagement.ingest(_venue_events(["impression"] * 3, [None] * 3, 0)) == 0
    assert engagement._seen == {}  # the attribution memory
    sectioned = _venue_events(["impression"], ["new"], 10)
    assert engagement.ingest(sectioned) > 0
    assert len(engagement._seen) == 1
    click = _venue_events(["click"], [None], 10)  # same request and venue, no section
    assert engagement.ingest(click) > 0  # attributed to the sectioned impression
    _, _, user = engagement.evidence(["section:new"], "u1", "hel", "fi", NOW)
    assert user.clicks.round(2).tolist() == [1.0]
