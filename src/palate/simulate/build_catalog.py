"""Turn the generated columns into a domain :class:`Catalog` with string ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from palate.domain.catalog import Banner, Brand, Catalog, Category, Customer, Item
from palate.domain.geo import Location
from palate.domain.hours import MINUTES_PER_DAY
from palate.domain.market import City, Market
from palate.domain.venue import Venue, VenueStatus
from palate.simulate.config import SimulationConfig
from palate.simulate.cuisines import CUISINES, FLAG_VEGETARIAN, ITEM_CATEGORIES, tags_of
from palate.simulate.menus import CATEGORY_CODE, ItemTable
from palate.simulate.truth import GroundTruth
from palate.simulate.venues import BrandTable, CityGeo, VenueTable

STATUSES = (VenueStatus.ONLINE, VenueStatus.BUSY, VenueStatus.PAUSED)


def category_id(cuisine: int) -> str:
    """The food category of a cuisine (one per cuisine, slug = cuisine)."""
    return f"c{cuisine}"


def _venue_tags(venues: VenueTable, items: ItemTable) -> list[tuple[str, ...]]:
    mains = items.category == CATEGORY_CODE["mains"]
    veg = np.bincount(
        items.venue[mains],
        weights=(items.flags[mains] & FLAG_VEGETARIAN) > 0,
        minlength=len(venues),
    )
    share = veg / np.maximum(np.bincount(items.venue[mains], minlength=len(venues)), 1)
    late = venues.open_minutes[:, np.arange(7) * MINUTES_PER_DAY + 30].any(axis=1)
    flags = (
        ("vegetarian_friendly", np.asarray(share >= 0.5)),
        ("late_night", np.asarray(late)),
        ("new", np.asarray(venues.onboard_day > 0)),
        ("chain", np.asarray(venues.brand >= 0)),
    )
    return [tuple(tag for tag, mask in flags if mask[v]) for v in range(len(venues))]


def _venues(
    venues: VenueTable, items: ItemTable, cities: tuple[CityGeo, ...], config: SimulationConfig
) -> dict[str, Venue]:
    tags = _venue_tags(venues, items)
    out: dict[str, Venue] = {}
    for v in range(len(venues)):
        cuisine, brand = int(venues.cuisine[v]), int(venues.brand[v])
        out[f"v{v}"] = Venue(
            id=f"v{v}",
            name=venues.names[v],
            city_id=cities[int(venues.city[v])].spec.id,
            location=Location(float(venues.lat[v]), float(venues.lon[v])),
            delivery_radius_m=float(venues.radius_m[v]),
            opening_hours=venues.hours[v],
            brand_id=f"b{brand}" if brand >= 0 else None,
            cuisines=(CUISINES[cuisine].slug,),
            tags=tags[v],
            price_level=int(venues.price_level[v]),
            rating=float(venues.rating[v]),
            rating_count=int(venues.rating_count[v]),
            prep_time_min=float(venues.prep_min[v]),
            onboarded_on=config.start_date + timedelta(days=int(venues.onboard_day[v])),
            status=STATUSES[int(venues.status[v])],
            categories=(category_id(cuisine),),
        )
    return out


def _items(items: ItemTable) -> dict[str, Item]:
    venue_ids = [f"v{v}" for v in items.venue.tolist()]
    categories = [ITEM_CATEGORIES[c] for c in items.category.tolist()]
    tags = {int(mask): tags_of(int(mask)) for mask in np.unique(items.flags)}
    return {
        f"i{i}": Item(f"i{i}", venue_ids[i], items.names[i], categories[i], price, tags[flags])
        for i, (price, flags) in enumerate(
            zip(items.price.tolist(), items.flags.tolist(), strict=True)
        )
    }


def _customers(truth: GroundTruth, cities: tuple[CityGeo, ...]) -> dict[str, Customer]:
    out: dict[str, Customer] = {}
    cols = (truth.city, truth.home_lat, truth.home_lon, truth.work_lat, truth.work_lon)
    for u, (city, hlat, hlon, wlat, wlon) in enumerate(
        zip(*(c.tolist() for c in cols), strict=True)
    ):
        work = None if np.isnan(wlat) else Location(wlat, wlon)
        out[f"u{u}"] = Customer(f"u{u}", cities[city].spec.id, Location(hlat, hlon), work)
    return out


def _banners(venues: VenueTable, brands: BrandTable, config: SimulationConfig) -> dict[str, Banner]:
    markets = tuple(m.id for m in config.markets)
    start = datetime.combine(config.start_date, datetime.min.time(), tzinfo=UTC)
    biggest = int(np.bincount(venues.brand[venues.brand >= 0], minlength=len(brands)).argmax())
    newest = int(np.argmax(venues.onboard_day))
    banners = (
        Banner("n0", "Pizza night: free delivery", "category", category_id(0), markets, start),
        Banner("n1", f"{brands.names[biggest]} near you", "brand", f"b{biggest}", markets, start),
        Banner(
            "n2",
            "New on Palate",
            "venue",
            f"v{newest}",
            markets,
            start,
            start + timedelta(days=config.days),
        ),
    )
    return {b.id: b for b in banners}


def build_catalog(
    cities: tuple[CityGeo, ...],
    venues: VenueTable,
    brands: BrandTable,
    items: ItemTable,
    truth: GroundTruth,
    config: SimulationConfig,
) -> Catalog:
    """Markets, cities, venues, items, categories, brands, banners and customers."""
    return Catalog(
        markets={m.id: Market(m.id, m.country, m.currency, m.timezone) for m in config.markets},
        cities={
            g.spec.id: City(
                g.spec.id,
                g.spec.name,
                g.spec.market.id,
                Location(g.spec.lat, g.spec.lon),
                g.spec.market.timezone,
            )
            for g in cities
        },
        venues=_venues(venues, items, cities, config),
        items=_items(items),
        categories={
            category_id(k): Category(category_id(k), c.slug, c.name) for k, c in enumerate(CUISINES)
        },
        brands={f"b{b}": Brand(f"b{b}", name) for b, name in enumerate(brands.names)},
        banners=_banners(venues, brands, config),
        customers=_customers(truth, cities),
    )
