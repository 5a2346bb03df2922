"""Customers: where they live and work, and the latent tastes that drive what they order."""

from __future__ import annotations

import numpy as np

from palate.simulate.config import SimulationConfig
from palate.simulate.cuisines import CUISINES, cuisine_shares
from palate.simulate.spatial import scatter_km
from palate.simulate.venues import CityGeo

VEGETARIAN_SHARE = 0.15
WORKER_SHARE = 0.65
AFFINITY_CONCENTRATION = 4.0  # Dirichlet total mass: low values make customers picky
HABIT_MEAN = 3.0  # utility per log(1 + past orders) at a venue: the loyalty that drives repeats
EXPLORATION_MEAN = 0.5  # pull of a venue that is new on the platform


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    counts = np.floor(total * weights / weights.sum()).astype(np.int64)
    counts[: total - counts.sum()] += 1
    return np.asarray(counts)


def _locations(
    cities: tuple[CityGeo, ...], city: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    n = len(city)
    home_lat, home_lon, work_lat, work_lon = (np.empty(n) for _ in range(4))
    for c, geo in enumerate(cities):
        idx = np.flatnonzero(city == c)
        spread = geo.weight**0.5 / (geo.weight**0.5).sum()  # people live further out than venues
        hood = rng.choice(len(spread), size=len(idx), p=spread)
        home_lat[idx], home_lon[idx] = scatter_km(rng, geo.hood_lat[hood], geo.hood_lon[hood], 1.2)
        office = np.where(
            rng.random(len(idx)) < 0.5, 0, rng.choice(len(spread), len(idx), p=spread)
        )
        work_lat[idx], work_lon[idx] = scatter_km(
            rng, geo.hood_lat[office], geo.hood_lon[office], 0.8
        )
    no_work = rng.random(n) >= WORKER_SHARE
    work_lat[no_work] = np.nan
    work_lon[no_work] = np.nan
    return {"home_lat": home_lat, "home_lon": home_lon, "work_lat": work_lat, "work_lon": work_lon}


def _affinity(vegetarian: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-customer Dirichlet over cuisines, tilted to vegetarian-friendly ones for vegetarians."""
    friendly = np.array([c.veg_friendly for c in CUISINES])
    base = cuisine_shares()[None, :] * friendly[None, :] ** (3.0 * vegetarian[:, None])
    alpha = AFFINITY_CONCENTRATION * base / base.sum(axis=1, keepdims=True)
    draws = rng.gamma(alpha)
    draws = np.maximum(draws, 1e-12)
    return np.asarray(draws / draws.sum(axis=1, keepdims=True))


def _lognormal_mean(rng: np.random.Generator, mean: float, sigma: float, n: int) -> np.ndarray:
    return rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, n)


def make_population(
    cities: tuple[CityGeo, ...], config: SimulationConfig, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Customer columns: city, home and work (NaN without a job) and the latent parameters."""
    n = config.customers
    weights = np.array([geo.spec.weight for geo in cities])
    city = np.repeat(np.arange(len(cities), dtype=np.int16), _split(n, weights))
    vegetarian = np.where(rng.random(n) < VEGETARIAN_SHARE, rng.beta(8, 2, n), rng.beta(1, 8, n))
    return {
        "city": city,
        **_locations(cities, city, rng),
        "affinity": _affinity(vegetarian, rng),
        "vegetarian": vegetarian,
        "price_sensitivity": _lognormal_mean(rng, 0.35, 0.5, n),
        "distance_aversion": _lognormal_mean(rng, 0.3, 0.4, n),
        "habit": _lognormal_mean(rng, HABIT_MEAN, 0.4, n),
        "exploration": _lognormal_mean(rng, EXPLORATION_MEAN, 0.6, n),
        "activity": np.minimum(_lognormal_mean(rng, config.sessions_per_customer_day, 0.8, n), 3.0),
        "intent": rng.beta(5.0, 4.0, n),
    }
