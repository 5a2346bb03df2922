"""Discovery's "For you": nearest neighbours of the customer's embedding among served venues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from palate.catalog.store import load_catalog
from palate.domain.catalog import Catalog
from palate.domain.geo import Location
from palate.domain.requests import RankingRequest
from palate.events.log import EventLog
from palate.premises.sections import FOR_YOU, SectionConfig, Taste, build_sections, for_you
from palate.serving.state import ServingState, build_state, warm_features
from palate.settings import Settings
from palate.simulate.truth import GroundTruth
from palate.training.embeddings import AlsParams, Embeddings, train_venue_embeddings

CUT = SectionConfig(venues_per_section=10)


@dataclass(frozen=True)
class City:
    catalog: Catalog
    events: pa.Table
    state: ServingState
    factors: Embeddings
    truth: GroundTruth
    now: datetime


@pytest.fixture(scope="module")
def city(simulated_dir: Path) -> City:
    catalog = load_catalog(simulated_dir / "catalog")
    log = EventLog(simulated_dir / "events")
    settings = Settings()
    state = build_state(catalog, settings)
    warm_features(state, settings, log)
    events = log.read()
    factors = train_venue_embeddings(events, params=AlsParams(seed=3))
    last = pc.max(events.column("ts")).as_py()
    now = last.replace(hour=16, minute=0)  # dinner time: most venues open and delivering
    return City(catalog, events, state, factors, GroundTruth.load(simulated_dir / "truth"), now)


def _orders(events: pa.Table) -> dict[str, tuple[set[str], Location]]:
    """Each customer's venues ordered from, and where they last ordered to."""
    rows = events.filter(pc.equal(events.column("type"), "order"))
    out: dict[str, tuple[set[str], Location]] = {}
    for user, venue, lat, lon in zip(
        *(rows.column(c).to_pylist() for c in ("user_id", "venue_id", "lat", "lon")), strict=True
    ):
        venues = out.get(user, (set(), Location(lat, lon)))[0]
        out[user] = ({*venues, venue}, Location(lat, lon))
    return out


def _for_you(city: City, user: str, where: Location, factors: Embeddings | None) -> list[str]:
    request = RankingRequest(user, where, city.now, 200)
    candidates = city.state.discovery.run(request).candidates
    sections = build_sections(candidates, city.state.index, {}, 0, CUT, Taste(user, factors))
    rows = next((s.rows for s in sections if s.name == FOR_YOU), np.empty(0, np.int32))
    return [str(v) for v in city.state.index.venue_ids[candidates.positions[rows]]]


def _taste(city: City, user: str, venues: list[str]) -> float:
    """The customer's true (simulated) taste for the venues' cuisines, averaged."""
    rows = np.array([int(v.removeprefix("v")) for v in venues])
    return float(
        city.truth.log_affinity[int(user.removeprefix("u")), city.truth.venue_cuisine[rows]].mean()
    )


def _neighbour_ordered(factors: Embeddings, venues: list[str], ordered: set[str]) -> float:
    """Share of ``venues`` with a venue the customer ordered from among their 5 nearest."""
    near = [set(factors.similar(v, 5).ids.tolist()) & ordered for v in venues]
    return float(np.mean([bool(hits) for hits in near]))


def test_for_you_retrieves_unordered_venues_near_the_customers_taste(city: City) -> None:
    known = set(city.factors.user_ids.tolist())
    customers = [(u, o) for u, o in sorted(_orders(city.events).items()) if u in known]
    taste_gain, neighbours, baseline_neighbours = [], [], []
    for user, (ordered, where) in customers[:60]:
        embedded = _for_you(city, user, where, city.factors)
        ranked = _for_you(city, user, where, None)
        assert embedded
        assert not set(embedded) & ordered
        known_venues = [v for v in embedded if city.factors.entity_positions([v])[0] >= 0]
        assert embedded[: len(known_venues)] == known_venues  # venues without a row come last
        assert (np.diff(city.factors.scores(user, known_venues)) <= 1e-6).all()  # nearest first
        taste_gain.append(_taste(city, user, embedded) - _taste(city, user, ranked))
        neighbours.append(_neighbour_ordered(city.factors, embedded, ordered))
        baseline_neighbours.append(_neighbour_ordered(city.factors, ranked, ordered))
    assert len(taste_gain) >= 40
    # The embedding picks cuisines the customer truly likes more than the ranking's order does,
    assert np.mean(taste_gain) > 0.1
    # ... and venues whose embedding neighbours they ordered from.
    assert np.mean(neighbours) > np.mean(baseline_neighbours) + 0.1


def test_without_a_customer_vector_for_you_keeps_the_ranking_order(city: City) -> None:
    where = next(iter(city.catalog.cities.values())).center
    stranger = _for_you(city, "never-seen", where, city.factors)
    assert stranger == _for_you(city, "never-seen", where, None)
    assert len(stranger) == CUT.venues_per_section
    request = RankingRequest("never-seen", where, city.now, 200)
    candidates = city.state.discovery.run(request).candidates
    not_ordered = np.ones(len(candidates), dtype=bool)
    taste = Taste("never-seen", city.factors)
    assert for_you(candidates, city.state.index, not_ordered, taste).tolist() == list(
        range(len(candidates))
    )
