"""The deliverable-venues source and the request context: per venue, as the catalog says."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from palate.catalog import VenueIndex
from palate.catalog.opening import minute_of_week
from palate.domain import Catalog, Location
from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates
from palate.ranking.hydrators import RequestContext
from palate.retrieval.deliverable import SOURCE_FEATURES, DeliverableVenues
from tests.catalog.builders import HELSINKI, destination, random_catalog

WHEN = datetime(2024, 10, 26, 21, 7, tzinfo=UTC)  # a Saturday evening, DST ends overnight


def requests(seed: int, n: int) -> list[RankingRequest]:
    rng = random.Random(seed)
    return [
        RankingRequest(
            "u1",
            destination(HELSINKI, rng.uniform(0, 6_000), rng.uniform(0, 360)),
            WHEN + timedelta(minutes=rng.choice([0, 0, 181, 1_440, 7_000])),
            50,
        )
        for _ in range(n)
    ]


def expected_attributes(catalog: Catalog, index: VenueIndex, candidates: Candidates) -> dict:
    venues = [catalog.venues[v] for v in index.venue_ids[candidates.positions]]
    return {
        name: np.array([float(getattr(v, name)) for v in venues], dtype=np.float64)
        for name in SOURCE_FEATURES[1:]
    }


def test_candidates_carry_the_catalog_attributes_of_the_current_snapshot() -> None:
    catalog = random_catalog(21, n_venues=300)
    index = VenueIndex.build(catalog)
    source = DeliverableVenues(index)
    for request in requests(21, 30):
        found = source.fetch(request)
        assert list(found.features) == list(SOURCE_FEATURES)
        expected = expected_attributes(catalog, index, found)
        for name, values in expected.items():
            np.testing.assert_array_equal(found.feature(name), values)
    # an upsert swaps the snapshot: the source must not keep serving the old attributes
    changed = {v.id: replace(v, rating=1.25, prep_time_min=99.0) for v in catalog.venues.values()}
    catalog.venues.update(changed)
    index.upsert(changed.values())
    found = source.fetch(requests(22, 1)[0])
    assert len(found) > 0
    np.testing.assert_array_equal(found.feature("rating"), np.full(len(found), 1.25))
    np.testing.assert_array_equal(found.feature("prep_time_min"), np.full(len(found), 99.0))


@pytest.mark.parametrize("city_ids", [("hel", "sto", "twin"), ("hel",)])
def test_request_context_is_each_venues_local_time_and_eta(city_ids: tuple[str, ...]) -> None:
    catalog = random_catalog(23, n_venues=300, city_ids=city_ids)
    index = VenueIndex.build(catalog)
    source, context = DeliverableVenues(index), RequestContext(index)
    for request in requests(23, 20):
        candidates = source.fetch(request)
        columns = context.hydrate(request, candidates)
        venues = [catalog.venues[v] for v in index.venue_ids[candidates.positions]]
        local = np.array(
            [minute_of_week(request.when, ZoneInfo(catalog.timezone_of(v))) for v in venues]
        )
        np.testing.assert_array_equal(columns["local_hour"], (local % 1440) // 60)
        np.testing.assert_array_equal(columns["local_weekday"], local // 1440)
        np.testing.assert_array_equal(columns["is_weekend"], local // 1440 >= 5)
        eta = [
            v.prep_time_min + d / 1000.0 / 0.25
            for v, d in zip(venues, candidates.feature("distance_m"), strict=True)
        ]
        np.testing.assert_array_equal(columns["eta_min"], eta)
        assert all(c.dtype == np.float64 for c in columns.values())


def test_request_context_with_no_candidates() -> None:
    index = VenueIndex.build(random_catalog(24, n_venues=20))
    nowhere = RankingRequest("u1", Location(0.0, 0.0), WHEN, 50)
    empty = DeliverableVenues(index).fetch(nowhere)
    assert len(empty) == 0
    assert all(len(c) == 0 for c in RequestContext(index).hydrate(nowhere, empty).values())
