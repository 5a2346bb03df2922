"""The alcohol rule: no alcohol-tagged item outside the configured local hours or markets."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from palate.catalog.item_query import ItemQuery
from palate.domain.catalog import Catalog
from palate.pipeline.candidates import BoolArray, Candidates

ALCOHOL_TAG = "alcohol"


def parse_hours(text: str) -> tuple[int, int]:
    """``"HH:MM-HH:MM"`` → start and end minute of the day; an end before the start wraps.

    >>> parse_hours("09:00-21:00"), parse_hours("18:00-02:00")
    ((540, 1260), (1080, 120))
    """
    try:
        start, end = (part.strip() for part in text.split("-"))
        minutes = [int(h) * 60 + int(m) for h, m in (t.split(":") for t in (start, end))]
    except ValueError as exc:
        raise ValueError(f"alcohol_hours must look like '09:00-21:00', got {text!r}") from exc
    if not all(0 <= m <= 1440 for m in minutes):
        raise ValueError(f"alcohol_hours out of range: {text!r}")
    return minutes[0], minutes[1]


def within(minute: int, hours: tuple[int, int]) -> bool:
    """Whether a minute of the day falls in ``[start, end)`` (wrapping past midnight).

    >>> within(600, (540, 1260)), within(1300, (540, 1260)), within(60, (1080, 120))
    (True, False, True)
    """
    start, end = hours
    return start <= minute < end if start <= end else minute >= start or minute < end


class AlcoholRule:
    """Drops alcohol-tagged items unless the venue's market allows them at its local time."""

    name = "alcohol_rule"

    def __init__(self, catalog: Catalog, hours: str, markets: Iterable[str]) -> None:
        self.catalog = catalog
        self.hours = parse_hours(hours)
        self.markets = frozenset(markets)

    def allowed(self, venue_id: str, when: datetime) -> bool:
        """Alcohol may be sold by this venue now."""
        venue = self.catalog.venues[venue_id]
        city = self.catalog.cities[venue.city_id]
        if city.market_id not in self.markets:
            return False
        local = when.astimezone(ZoneInfo(self.catalog.timezone_of(venue)))
        return within(local.hour * 60 + local.minute, self.hours)

    def keep(self, query: ItemQuery, candidates: Candidates) -> BoolArray:
        """All True when allowed, else False on alcohol-tagged items."""
        tags = query.columns.tags
        if self.allowed(query.venue_id, query.when) or ALCOHOL_TAG not in tags.vocabulary:
            return candidates.positions >= 0
        alcohol = tags.matrix[candidates.positions, tags.vocabulary.index(ALCOHOL_TAG)]
        result: BoolArray = ~alcohol
        return result
