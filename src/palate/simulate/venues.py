"""Cities with neighbourhoods, chains, and the venues clustered in them, as columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palate.domain.hours import WeeklyHours
from palate.simulate.config import CitySpec, SimulationConfig
from palate.simulate.cuisines import CUISINES, cuisine_shares
from palate.simulate.opening import make_hours, open_bitmap
from palate.simulate.spatial import scatter_km

STATUS_ONLINE, STATUS_BUSY, STATUS_PAUSED = 0, 1, 2
RADII_M = np.arange(2_000.0, 6_001.0, 500.0)
_WORDS = (
    "Golden", "Corner", "Little", "Urban", "Happy", "Royal", "Green", "Lucky", "Harbour",
    "Nordic", "Sunny", "Northern", "Old Town", "Blue", "Red", "Silver", "Street", "Garden",
)  # fmt: skip
_BRAND_WORDS = (
    "Mega", "Super", "Kotimaan", "Express", "Prime", "Classic", "Fresh", "Daily", "City",
    "Quick", "Star", "Family",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CityGeo:
    """A city's neighbourhood centres; venue and customer density follows ``weight``."""

    spec: CitySpec
    hood_lat: np.ndarray
    hood_lon: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True, slots=True)
class BrandTable:
    """Chains: brand ``b`` has id ``f"b{b}"``; its venues share cuisine, price and menu."""

    names: tuple[str, ...]
    cuisine: np.ndarray
    price_level: np.ndarray
    quality: np.ndarray

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True, slots=True)
class VenueTable:
    """Venues as columns; venue ``v`` has id ``f"v{v}"``; a city's venues are contiguous.

    ``onboard_day`` counts days from the start date (negative: onboarded before the window);
    ``open_minutes[v, m]`` says whether the venue is open at minute ``m`` of its local week.
    """

    names: tuple[str, ...]
    city: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    cuisine: np.ndarray
    brand: np.ndarray
    price_level: np.ndarray
    quality: np.ndarray
    rating: np.ndarray
    rating_count: np.ndarray
    prep_min: np.ndarray
    radius_m: np.ndarray
    onboard_day: np.ndarray
    status: np.ndarray
    hours: tuple[WeeklyHours, ...]
    open_minutes: np.ndarray
    city_start: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def of_city(self, city: int) -> slice:
        """The index range of one city's venues."""
        return slice(int(self.city_start[city]), int(self.city_start[city + 1]))


def make_city(spec: CitySpec, rng: np.random.Generator) -> CityGeo:
    """Neighbourhoods scattered around the centre, the centre itself the densest."""
    n = spec.neighbourhoods
    centre_lat, centre_lon = np.full(n, spec.lat), np.full(n, spec.lon)
    lat, lon = scatter_km(rng, centre_lat, centre_lon, spec.spread_km)
    lat[0], lon[0] = spec.lat, spec.lon
    weight = rng.gamma(2.0, 1.0, n)
    weight[0] = weight.sum() / 2
    return CityGeo(spec, lat, lon, weight / weight.sum())


def make_brands(n: int, rng: np.random.Generator) -> BrandTable:
    """Chains of restaurants and grocers; sushi and kebab chains are as common as in life."""
    cuisine = rng.choice(len(CUISINES), size=n, p=cuisine_shares())
    levels = np.array([rng.choice(4, p=CUISINES[c].price_levels) + 1 for c in cuisine])
    names = tuple(
        f"{_BRAND_WORDS[i % len(_BRAND_WORDS)]} {CUISINES[c].name}"
        + (f" {i // 12 + 1}" * (i >= 12))
        for i, c in enumerate(cuisine)
    )
    return BrandTable(
        names, cuisine.astype(np.int16), levels.astype(np.int8), rng.normal(0.1, 0.3, n)
    )


def _assign_brands(
    n: int, brands: BrandTable, chain_share: float, rng: np.random.Generator
) -> np.ndarray:
    brand = np.full(n, -1, dtype=np.int32)
    chained = rng.random(n) < chain_share
    sizes = 1.0 / np.arange(1, len(brands) + 1) ** 0.7  # a few big chains, many small ones
    brand[chained] = rng.choice(len(brands), size=int(chained.sum()), p=sizes / sizes.sum())
    return brand


def _ratings(
    quality: np.ndarray, new: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    rating = np.clip(4.1 + 0.35 * quality + rng.normal(0, 0.15, len(quality)), 2.8, 5.0)
    count = np.round(np.exp(rng.normal(np.log(150) + 0.5 * quality, 0.9))).astype(np.int64)
    return np.where(new, 0.0, np.round(rating, 1)), np.where(new, 0, count)


def _onboarding(n: int, config: SimulationConfig, rng: np.random.Generator) -> np.ndarray:
    new = rng.random(n) < config.new_venue_share
    before = -np.ceil(rng.exponential(600.0, n) + 14).astype(np.int32)
    during = rng.integers(1, max(config.days, 2), n).astype(np.int32)
    return np.where(new, during, before)


def _city_venues(
    geo: CityGeo, n: int, brands: BrandTable, config: SimulationConfig, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    hood = rng.choice(len(geo.weight), size=n, p=geo.weight)
    lat, lon = scatter_km(rng, geo.hood_lat[hood], geo.hood_lon[hood], 0.7)
    brand = _assign_brands(n, brands, config.chain_share, rng)
    cuisine = rng.choice(len(CUISINES), size=n, p=cuisine_shares()).astype(np.int16)
    cuisine = np.where(brand >= 0, brands.cuisine[brand], cuisine)
    level = np.array([rng.choice(4, p=CUISINES[c].price_levels) + 1 for c in cuisine])
    level = np.where(brand >= 0, brands.price_level[brand], level).astype(np.int8)
    quality = np.where(
        brand >= 0, brands.quality[brand] + rng.normal(0, 0.2, n), rng.normal(0, 0.5, n)
    )
    prep = np.array([CUISINES[c].prep_min for c in cuisine]) * rng.lognormal(0, 0.25, n)
    status = rng.choice(3, size=n, p=[0.97 - config.paused_share, 0.03, config.paused_share])
    return {
        "lat": lat, "lon": lon, "brand": brand, "cuisine": cuisine, "price_level": level,
        "quality": quality, "prep_min": np.round(prep, 1), "radius_m": rng.choice(RADII_M, n),
        "onboard_day": _onboarding(n, config, rng), "status": status.astype(np.int8),
    }  # fmt: skip


def _venue_name(cuisine: int, brand: int, brands: BrandTable, rng: np.random.Generator) -> str:
    if brand >= 0:
        return brands.names[brand]
    return f"{_WORDS[int(rng.integers(len(_WORDS)))]} {CUISINES[cuisine].name}"


def make_venues(
    cities: tuple[CityGeo, ...],
    brands: BrandTable,
    config: SimulationConfig,
    rng: np.random.Generator,
) -> VenueTable:
    """All venues of all cities, city by city."""
    parts: list[dict[str, np.ndarray]] = []
    for geo in cities:
        n = max(10, round(config.venues_per_city * geo.spec.weight))
        part = _city_venues(geo, n, brands, config, rng)
        part["city"] = np.full(n, len(parts), dtype=np.int16)
        parts.append(part)
    cols = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    counts = [len(p["lat"]) for p in parts]
    rating, rating_count = _ratings(cols["quality"], cols["onboard_day"] > 0, rng)
    hours = tuple(make_hours(CUISINES[c].hours, rng) for c in cols["cuisine"])
    names = tuple(
        _venue_name(int(c), int(b), brands, rng)
        for c, b in zip(cols["cuisine"], cols["brand"], strict=True)
    )
    return VenueTable(
        names=names,
        rating=rating,
        rating_count=rating_count,
        hours=hours,
        open_minutes=open_bitmap(hours),
        city_start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        **cols,
    )
