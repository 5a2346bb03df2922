"""The simulation run: build the world, draw the sessions, play them in time order."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from palate.domain.catalog import Catalog
from palate.simulate.baskets import Baskets
from palate.simulate.build_catalog import build_catalog
from palate.simulate.clock import (
    SECOND_US,
    SessionTimes,
    UtcOffsets,
    epoch_seconds,
    sample_sessions,
)
from palate.simulate.config import SimulationConfig
from palate.simulate.cuisines import CUISINES, cuisine_shares, daypart_log_table
from palate.simulate.event_table import EventBuffer
from palate.simulate.menus import ItemTable, make_items
from palate.simulate.policy import PopularityDistancePolicy, RankingPolicy
from palate.simulate.population import make_population
from palate.simulate.sessions import Market, Sessions
from palate.simulate.spatial import scatter_km
from palate.simulate.truth import GroundTruth
from palate.simulate.venues import (
    BrandTable,
    CityGeo,
    VenueTable,
    make_brands,
    make_city,
    make_venues,
)

WORK_AT_LUNCH = 0.85  # workers who order to the office on a weekday lunch
GPS_SIGMA_KM = 0.03


@dataclass(frozen=True, slots=True)
class World:
    """The generated marketplace before anyone orders."""

    cities: tuple[CityGeo, ...]
    brands: BrandTable
    venues: VenueTable
    items: ItemTable
    truth: GroundTruth


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """A catalog, the events it produced (:data:`EVENT_SCHEMA`, sorted by ts) and the truth."""

    config: SimulationConfig
    catalog: Catalog
    events: pa.Table
    truth: GroundTruth


def build_world(config: SimulationConfig, rng: np.random.Generator | None = None) -> World:
    """Cities, chains, venues, menus and customers with their latent tastes.

    Without ``rng`` this is exactly the world :func:`simulate` builds for ``config``, e.g. to
    hand its truth to an :class:`~palate.simulate.policy.OraclePolicy` beforehand.
    """
    rng = rng if rng is not None else np.random.default_rng(config.seed)
    cities = tuple(make_city(spec, rng) for spec in config.city_specs)
    n_venues = sum(round(config.venues_per_city * geo.spec.weight) for geo in cities)
    brands = make_brands(max(3, round(n_venues * config.chain_share / 8)), rng)
    venues = make_venues(cities, brands, config, rng)
    items = make_items(venues, config.city_specs, rng)
    people = make_population(cities, config, rng)
    truth = GroundTruth(
        start_date=config.start_date,
        timezones=tuple(geo.spec.market.timezone for geo in cities),
        cuisines=tuple(c.slug for c in CUISINES),
        venue_city=venues.city,
        venue_lat=venues.lat,
        venue_lon=venues.lon,
        venue_cuisine=venues.cuisine,
        venue_price_level=venues.price_level,
        venue_quality=venues.quality,
        venue_prep_min=venues.prep_min,
        venue_onboard_day=venues.onboard_day,
        daypart=daypart_log_table(),
        cuisine_share=cuisine_shares(),
        **people,
    )
    return World(cities, brands, venues, items, truth)


def _where(
    times: SessionTimes, truth: GroundTruth, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Office at weekday lunch for most workers, otherwise home; GPS noise on top."""
    lat, lon = truth.location(times.user, times.weekday, times.hour)
    stay_home = rng.random(len(times)) >= WORK_AT_LUNCH
    lat = np.where(stay_home, truth.home_lat[times.user], lat)
    lon = np.where(stay_home, truth.home_lon[times.user], lon)
    return scatter_km(rng, lat, lon, GPS_SIGMA_KM)


def _play(
    market: Market,
    times: SessionTimes,
    where: tuple[np.ndarray, np.ndarray],
    config: SimulationConfig,
) -> None:
    """Batches of ``step_hours`` in time order so habits form as the window unfolds."""
    sessions = Sessions(
        np.arange(len(times)), times.user, times.ts_us, where[0], where[1],
        times.day, times.weekday, times.hour, times.minute_of_week,
    )  # fmt: skip
    city = market.truth.city[times.user]
    step_us = config.step_hours * 3600 * SECOND_US
    step = (times.ts_us - epoch_seconds(config.start_date) * SECOND_US) // step_us
    bounds = np.searchsorted(
        step, np.arange(int(step.min(initial=0)), int(step.max(initial=0)) + 2)
    )
    for lo, hi in itertools.pairwise(bounds):
        for c in range(len(config.city_specs)):
            rows = lo + np.flatnonzero(city[lo:hi] == c)
            if len(rows):
                market.run(sessions.take(rows), c)


def _concat(parts: list[Baskets]) -> Baskets:
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return Baskets(
            empty, empty, empty.astype(np.int32), empty.astype(np.float64), empty.astype(np.float64)
        )
    return Baskets(*(np.concatenate([getattr(p, f) for p in parts]) for f in Baskets.__slots__))


def simulate(
    config: SimulationConfig | None = None, policy: RankingPolicy | None = None
) -> SimulationResult:
    """Simulate ``config`` with ``policy`` ranking the discovery list (default: popularity and
    distance). Deterministic: the same config and policy give the same events.
    """
    config = config or SimulationConfig()
    rng = np.random.default_rng(config.seed)
    world = build_world(config, rng)
    truth = world.truth
    offsets = UtcOffsets(truth.timezones, config.start_date, config.days)
    times = sample_sessions(
        truth.activity, truth.city, offsets, config.start_date, config.days, rng
    )
    market = Market(
        venues=world.venues, items=world.items, truth=truth,
        policy=policy or PopularityDistancePolicy(seed=config.seed), buffer=EventBuffer(), rng=rng,
        slots=config.impressions_per_session,
        past_orders=np.zeros((truth.n_customers, len(world.venues)), dtype=np.int16),
        venue_orders=np.zeros(len(world.venues), dtype=np.int64), baskets=[],
    )  # fmt: skip
    _play(market, times, _where(times, truth, rng), config)
    events = market.buffer.to_table(
        _concat(market.baskets),
        truth.n_customers,
        len(world.venues),
        len(world.items),
        config.section,
    )
    catalog = build_catalog(world.cities, world.venues, world.brands, world.items, truth, config)
    return SimulationResult(config, catalog, events, truth)
