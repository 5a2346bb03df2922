"""Markets (a country's marketplace) and the cities inside them."""

from __future__ import annotations

from dataclasses import dataclass

from palate.domain.geo import Location


@dataclass(frozen=True, slots=True)
class Market:
    """A country-level marketplace: one currency, one default timezone."""

    id: str
    country: str
    currency: str
    timezone: str


@dataclass(frozen=True, slots=True)
class City:
    """A city in a market; ``timezone`` overrides the market's when a country spans zones."""

    id: str
    name: str
    market_id: str
    center: Location
    timezone: str | None = None
