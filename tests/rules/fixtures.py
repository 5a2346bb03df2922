"""A tiny two-city marketplace where the ranking without rules is v0, v1, ..., v9."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from palate.catalog.index import VenueIndex
from palate.domain import City, Location, Market, Venue, WeeklyHours
from palate.domain.catalog import Catalog
from palate.domain.requests import RankingRequest
from palate.pipeline import Candidates, Pipeline
from palate.pipeline.candidates import FloatArray
from palate.ranking.selectors import TopK
from palate.retrieval.deliverable import DeliverableVenues
from palate.rules.config import RuleBook
from palate.rules.stages import rule_filters, rule_selectors
from palate.rules.subject import VenueSubject

HEL = Location(60.17, 24.94)
ESP = Location(60.205, 24.655)
NOON = datetime(2026, 9, 18, 9, 0, tzinfo=UTC)
BRANDS = ["b0", "b0", "b0", "b1", "b1", "b2", None, "b3", "b3", "b4"]


def catalog() -> Catalog:
    """Ten venues in Helsinki, ten in Espoo (same market); brands repeat."""
    venues = {}
    for city, where in (("hel", HEL), ("esp", ESP)):
        prefix = "v" if city == "hel" else "e"
        for i, brand in enumerate(BRANDS):
            vid = f"{prefix}{i}"
            venues[vid] = Venue(
                vid, vid, city, where, 3000.0, WeeklyHours.daily("00:00", "24:00"), brand_id=brand
            )
    return Catalog(
        markets={"fi": Market("fi", "FI", "EUR", "Europe/Helsinki")},
        cities={
            "hel": City("hel", "Helsinki", "fi", HEL),
            "esp": City("esp", "Espoo", "fi", ESP),
        },
        venues=venues,
    )


class ByIdNumber:
    """v0 best, v9 worst: the order without rules is obvious."""

    name = "by_id"

    def __init__(self, index: VenueIndex) -> None:
        self.index = index

    def score(self, request: RankingRequest, candidates: Candidates) -> FloatArray:
        ids = self.index.venue_ids[candidates.positions]
        return -np.array([float(str(v)[1:]) for v in ids])


def pipeline(book: RuleBook) -> tuple[Pipeline[RankingRequest], VenueIndex]:
    cat = catalog()
    index = VenueIndex.build(cat)
    subject = VenueSubject(index, cat.cities)
    built: Pipeline[RankingRequest] = Pipeline(
        name="discovery",
        sources=[DeliverableVenues(index)],
        filters=rule_filters(book, subject),
        scorers=[ByIdNumber(index)],
        selectors=[*rule_selectors(book, subject), TopK()],
    )
    return built, index


def request(where: Location = HEL, when: datetime = NOON, limit: int = 10) -> RankingRequest:
    return RankingRequest("u1", where, when, limit)


def ranked(book: RuleBook, **kwargs: object) -> list[str]:
    built, index = pipeline(book)
    result = built.run(request(**kwargs))  # type: ignore[arg-type]
    return [str(v) for v in index.venue_ids[result.candidates.positions]]
