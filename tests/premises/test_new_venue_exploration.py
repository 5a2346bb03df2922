"""Discovery explores new venues: Thompson-sampled slots in the top N, within the budget."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from palate.domain import Catalog, City, Market, Venue, WeeklyHours
from palate.domain.events import Event
from palate.domain.hours import MINUTES_PER_DAY
from palate.domain.requests import RankingRequest
from palate.experiments.budget import ExplorationBudget
from palate.experiments.new_venues import EXPLORED, NewVenueExploration, city_evidence
from palate.experiments.thompson import hierarchical_posterior
from palate.features.entity_engagement import Evidence
from palate.pipeline import Candidates
from palate.serving.state import ServingState, build_state
from palate.settings import NewVenueExplorationSettings, Settings
from tests.catalog.builders import HELSINKI, destination
from tests.features.events import click, impression, table

NOW = datetime(2026, 9, 18, 15, 0, tzinfo=UTC)
ESTABLISHED = 29
SHOWN, CLICKED = 200, 10  # each established venue: a 5 % click rate, as the engagement prior


def _catalog(new_onboarded: date) -> Catalog:
    """29 established venues close by, and one new venue, the farthest and unrated."""
    always = WeeklyHours(tuple((d * MINUTES_PER_DAY, (d + 1) * MINUTES_PER_DAY) for d in range(7)))
    venues = {
        f"v{n:02d}": Venue(
            f"v{n:02d}",
            f"Venue {n}",
            "hel",
            destination(HELSINKI, 200.0 + 50.0 * n, 45.0),
            5_000.0,
            always,
            rating=4.5,
            rating_count=100,
            onboarded_on=date(2024, 1, 1),
        )
        for n in range(ESTABLISHED)
    }
    venues["new"] = Venue(
        "new",
        "New",
        "hel",
        destination(HELSINKI, 3_000.0, 45.0),
        5_000.0,
        always,
        onboarded_on=new_onboarded,
    )
    return Catalog(
        markets={"fi": Market("fi", "FI", "EUR", "Europe/Helsinki")},
        cities={"hel": City("hel", "Helsinki", "fi", HELSINKI)},
        venues=venues,
    )


def _engagement(venue: str, shown: int, clicked: int) -> list[Event]:
    at = NOW - timedelta(hours=1)
    events: list[Event] = [impression("crowd", venue, at) for _ in range(shown)]
    return events + [click("crowd", venue, at) for _ in range(clicked)]


def _state(new_onboarded: date, new_shown: int = 0, **exploration: object) -> ServingState:
    settings = Settings(exploration={"new_venues": exploration})
    state = build_state(_catalog(new_onboarded), settings)
    events = [e for n in range(ESTABLISHED) for e in _engagement(f"v{n:02d}", SHOWN, CLICKED)]
    state.features.ingest(table(events + _engagement("new", new_shown, 0)))
    return state


def _request(n: int, limit: int = 10) -> RankingRequest:
    return RankingRequest(f"customer-{n}", HELSINKI, NOW, limit)


def _top(state: ServingState, request: RankingRequest) -> tuple[list[str], int]:
    """The top N venue ids and how many of them exploration placed."""
    top = state.discovery.run(request).candidates.take(slice(0, request.limit))
    explored = int((top.features.get(EXPLORED, np.zeros(len(top))) > 0).sum())
    ids: list[str] = state.index.venue_ids[top.positions].tolist()
    return ids, explored


def _expected_rate(prior_strength: float) -> float:
    """P(a draw of the unseen venue beats the top N's click rate), from the configured prior."""
    city = Evidence(np.array([ESTABLISHED * CLICKED * 1.0]), np.array([ESTABLISHED * SHOWN * 1.0]))
    posterior = hierarchical_posterior([city, Evidence.none(1)], 0.05, prior_strength)
    top_rate = (CLICKED + 0.05 * 50.0) / (SHOWN + 50.0)  # venue_engagement's posterior mean
    draws = np.random.default_rng(12345).beta(posterior.alpha[0], posterior.beta[0], 400_000)
    return float((draws > top_rate).mean())


def test_an_unseen_new_venue_gets_a_slot_at_the_rate_its_prior_implies() -> None:
    state = _state(date(2026, 9, 10))
    requests = 2_000
    appeared = 0
    for n in range(requests):
        ids, explored = _top(state, _request(n))
        assert explored <= 1  # 1 slot in 10
        assert ("new" in ids) == (explored == 1)  # it never earns a place on its own here
        appeared += "new" in ids
    expected = _expected_rate(NewVenueExplorationSettings().prior_strength)
    assert 0.2 < expected < 0.6
    spread = 4 * np.sqrt(expected * (1 - expected) / requests)
    assert abs(appeared / requests - expected) < spread
    # The same request always gets the same answer.
    assert _top(state, _request(7)) == _top(state, _request(7))


def test_a_new_venue_shown_often_and_never_clicked_stops_being_explored() -> None:
    state = _state(date(2026, 9, 10), new_shown=2_000)
    assert not any("new" in _top(state, _request(n))[0] for n in range(500))


def test_an_old_venue_with_enough_impressions_is_not_new() -> None:
    state = _state(date(2024, 1, 1), new_shown=150)  # over min_impressions, onboarded long ago
    assert not any("new" in _top(state, _request(n))[0] for n in range(300))
    unseen = _state(date(2024, 1, 1), new_shown=0)  # the same venue never shown: new again
    assert any("new" in _top(unseen, _request(n))[0] for n in range(300))


@pytest.mark.parametrize(("limit", "max_share"), [(10, 0.1), (20, 0.1), (10, 0.3), (5, 0.1)])
def test_explored_venues_never_exceed_the_budget(limit: int, max_share: float) -> None:
    state = build_state(
        _catalog(date(2026, 9, 10)),
        Settings(exploration={"new_venues": {"max_share": max_share, "max_slots": 5}}),
    )
    budget = ExplorationBudget(5, max_share).slots(limit)
    counts = [_top(state, _request(n, limit))[1] for n in range(200)]  # cold: every venue is new
    assert max(counts) <= budget
    assert (max(counts) == budget) if budget else (max(counts) == 0)


def test_the_category_page_explores_too_and_the_stage_fails_open() -> None:
    state = _state(date(2026, 9, 10))
    assert any(getattr(s, "name", "") == NewVenueExploration.name for s in state.category.selectors)
    stage = NewVenueExploration(state.index, state.features)
    broken = Candidates(
        np.arange(3, dtype=np.int32), {"ctr": np.zeros(2), "impressions": np.zeros(2)}
    )
    assert stage.select(RankingRequest("u", HELSINKI, NOW, 1), broken) is broken
    off = NewVenueExploration(
        state.index, state.features, NewVenueExplorationSettings(enabled=False)
    )
    assert off.select(_request(0), broken) is broken


@pytest.mark.parametrize("cities", [1, 3])
def test_city_evidence_totals_each_city_over_all_candidates(cities: int) -> None:
    rng = np.random.default_rng(cities)
    codes = rng.integers(0, cities, 400)
    venue = Evidence(rng.random(400), 10.0 * rng.random(400))
    rows = rng.choice(400, 30, replace=False).astype(np.int32)
    city = city_evidence(codes, venue, rows)
    clicks_per_row = np.broadcast_to(city.clicks, rows.shape)  # one city: one value for all
    impressions_per_row = np.broadcast_to(city.impressions, rows.shape)
    for row, clicks, impressions in zip(rows, clicks_per_row, impressions_per_row, strict=True):
        same = codes == codes[row]
        assert clicks == pytest.approx(venue.clicks[same].sum())
        assert impressions == pytest.approx(venue.impressions[same].sum())
