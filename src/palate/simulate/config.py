"""What to simulate: the cities and markets, the population size, the window, the knobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """A country marketplace; ``price_factor`` converts the EUR price book into its currency."""

    id: str
    country: str
    currency: str
    timezone: str
    price_factor: float = 1.0


@dataclass(frozen=True, slots=True)
class CitySpec:
    """A city: ``weight`` scales its share of customers and venues, ``spread_km`` its size."""

    id: str
    name: str
    market: MarketSpec
    lat: float
    lon: float
    weight: float = 1.0
    neighbourhoods: int = 10
    spread_km: float = 3.5


FINLAND = MarketSpec("fi", "FI", "EUR", "Europe/Helsinki")
SWEDEN = MarketSpec("se", "SE", "SEK", "Europe/Stockholm", price_factor=11.0)

HELSINKI = CitySpec("hel", "Helsinki", FINLAND, 60.1699, 24.9384, weight=1.0)
STOCKHOLM = CitySpec("sto", "Stockholm", SWEDEN, 59.3293, 18.0686, weight=1.0, spread_km=4.0)
TAMPERE = CitySpec(
    "tre", "Tampere", FINLAND, 61.4978, 23.7610, weight=0.5, neighbourhoods=6, spread_km=2.5
)

# Ordered so that two cities already span two markets.
NORDIC_CITIES = (HELSINKI, STOCKHOLM, TAMPERE)


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Everything that determines a simulated marketplace; equal configs give equal results.

    ``n_cities`` picks the first cities of :data:`NORDIC_CITIES` unless ``cities`` is given.
    ``step_hours`` is how often the customers' order histories are brought up to date: a
    smaller step makes habits react faster at the cost of more, smaller batches.

    >>> SimulationConfig(n_cities=2).city_specs[1].market.currency
    'SEK'
    """

    seed: int = 7
    customers: int = 5_000
    days: int = 28
    start_date: date = date(2026, 9, 7)
    n_cities: int = 1
    cities: tuple[CitySpec, ...] | None = None
    venues_per_city: int = 400
    impressions_per_session: int = 20
    sessions_per_customer_day: float = 0.22
    chain_share: float = 0.25
    new_venue_share: float = 0.06
    paused_share: float = 0.01
    step_hours: int = 6
    section: str = "popular_near_you"

    def __post_init__(self) -> None:
        if self.customers < 1 or self.days < 1 or self.venues_per_city < 10:
            raise ValueError("need at least one customer, one day and ten venues per city")
        if not 1 <= self.n_cities <= len(NORDIC_CITIES) and self.cities is None:
            raise ValueError(f"n_cities must be 1-{len(NORDIC_CITIES)}, got {self.n_cities}")
        if self.impressions_per_session < 1:
            raise ValueError("impressions_per_session must be positive")
        if 24 % self.step_hours:
            raise ValueError("step_hours must divide 24")

    @property
    def city_specs(self) -> tuple[CitySpec, ...]:
        """The simulated cities."""
        return self.cities if self.cities is not None else NORDIC_CITIES[: self.n_cities]

    @property
    def markets(self) -> tuple[MarketSpec, ...]:
        """The distinct markets of the cities, in order of first appearance."""
        seen: dict[str, MarketSpec] = {}
        for city in self.city_specs:
            seen.setdefault(city.market.id, city.market)
        return tuple(seen.values())
