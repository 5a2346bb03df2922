"""The simulated catalog: neighbourhoods, chains, a realistic cuisine mix, hours, menus."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

import numpy as np
import polars as pl

from palate.domain import Location, VenueStatus, haversine_m
from palate.simulate import SimulationResult
from tests.simulate.runs import local_hours, of_type

SATURDAY_1AM = 5 * 1440 + 60
WEDNESDAY = 2 * 1440


def test_ids_and_references_are_consistent(small: SimulationResult) -> None:
    catalog = small.catalog
    assert len(catalog.venues) == small.config.venues_per_city
    assert len(catalog.customers) == small.config.customers
    assert all(vid == f"v{n}" for n, vid in enumerate(catalog.venues))
    assert all(iid.startswith("i") for iid in catalog.items)
    assert {item.venue_id for item in catalog.items.values()} <= set(catalog.venues)
    for venue in catalog.venues.values():
        assert set(venue.categories) <= set(catalog.categories)
        assert venue.brand_id is None or venue.brand_id in catalog.brands
        assert catalog.categories[venue.categories[0]].slug == venue.cuisines[0]
    for banner in catalog.banners.values():
        pool: dict[str, set[str]] = {
            "venue": set(catalog.venues),
            "brand": set(catalog.brands),
            "category": set(catalog.categories),
        }
        assert banner.target_id in pool[banner.target_kind]
    assert len(catalog.banners) >= 2


def test_cuisine_mix_price_levels_radii_and_ratings_are_realistic(
    small: SimulationResult,
) -> None:
    venues = list(small.catalog.venues.values())
    cuisines = Counter(v.cuisines[0] for v in venues)
    assert len(cuisines) >= 15
    assert cuisines.most_common(1)[0][0] in {"pizza", "burger"}
    assert {"sushi", "indian", "kebab", "grocery", "breakfast"} <= set(cuisines)
    assert {v.price_level for v in venues} >= {1, 2, 3}
    assert all(2_000 <= v.delivery_radius_m <= 6_000 for v in venues)
    rated = [v for v in venues if v.rating_count > 0]
    assert all(2.8 <= v.rating <= 5.0 for v in rated)


def test_venues_cluster_in_neighbourhoods_around_the_centre(small: SimulationResult) -> None:
    centre = small.catalog.cities["hel"].center
    distances = np.array([haversine_m(centre, v.location) for v in small.catalog.venues.values()])
    assert np.median(distances) < 5_000
    assert np.percentile(distances, 95) < 15_000
    # Clustered: nearest-neighbour distances far below those of uniform scatter.
    points = [v.location for v in small.catalog.venues.values()][:150]
    nearest = [min(haversine_m(p, q) for q in points if q is not p) for p in points]
    assert np.median(nearest) < 400


def test_chains_share_cuisine_price_and_menu(small: SimulationResult) -> None:
    catalog = small.catalog
    by_brand: dict[str, list[str]] = defaultdict(list)
    for venue in catalog.venues.values():
        if venue.brand_id:
            by_brand[venue.brand_id].append(venue.id)
    chains = {b: vs for b, vs in by_brand.items() if len(vs) >= 2}
    assert chains
    for venue_ids in chains.values():
        first = catalog.venues[venue_ids[0]]
        menu = [(i.name, i.price) for i in catalog.items_of(first.id)]
        for other in venue_ids[1:]:
            assert catalog.venues[other].cuisines == first.cuisines
            assert catalog.venues[other].price_level == first.price_level
            assert [(i.name, i.price) for i in catalog.items_of(other)] == menu


def test_opening_hours_follow_the_kind_of_venue(small: SimulationResult) -> None:
    venues = list(small.catalog.venues.values())
    late = [v for v in venues if v.opening_hours.is_open_at(SATURDAY_1AM)]
    assert late
    assert all(v.cuisines[0] in {"pizza", "burger", "kebab", "grocery"} for v in late)
    breakfast = [v for v in venues if v.cuisines[0] == "breakfast"]
    assert breakfast
    for venue in breakfast:
        assert venue.opening_hours.is_open_at(WEDNESDAY + 9 * 60)
        assert not venue.opening_hours.is_open_at(WEDNESDAY + 20 * 60)
    for venue in (v for v in venues if v.cuisines[0] == "grocery"):
        open_minutes = sum(
            venue.opening_hours.is_open_at(WEDNESDAY + m) for m in range(0, 1440, 15)
        )
        assert open_minutes * 15 >= 14 * 60


def test_some_venues_are_new_in_the_window(small: SimulationResult) -> None:
    start = small.config.start_date
    end = start + timedelta(days=small.config.days)
    new = [v for v in small.catalog.venues.values() if "new" in v.tags]
    assert 0 < len(new) < 0.15 * len(small.catalog.venues)
    assert all(v.onboarded_on is not None and start < v.onboarded_on < end for v in new)
    assert all(v.rating_count == 0 for v in new)


def test_menus_have_structure_and_tags(small: SimulationResult) -> None:
    catalog = small.catalog
    for venue in catalog.venues.values():
        categories = {item.category for item in catalog.items_of(venue.id)}
        if venue.cuisines[0] == "grocery":
            assert {"produce", "dairy", "snacks", "alcohol"} <= categories
        else:
            assert {"mains", "drinks"} <= categories
    tags = Counter(tag for item in catalog.items.values() for tag in item.tags)
    assert {"vegetarian", "vegan", "spicy", "alcohol"} <= set(tags)
    vegan = [i for i in catalog.items.values() if "vegan" in i.tags]
    assert all("vegetarian" in i.tags for i in vegan)


def test_customers_live_in_the_city_and_most_have_a_workplace(small: SimulationResult) -> None:
    centre = small.catalog.cities["hel"].center
    customers = list(small.catalog.customers.values())
    assert all(c.home is not None and haversine_m(centre, c.home) < 25_000 for c in customers)
    workers = sum(c.work is not None for c in customers) / len(customers)
    assert 0.5 < workers < 0.8


def test_two_markets_with_their_currency_timezone_and_prices(nordic: SimulationResult) -> None:
    catalog = nordic.catalog
    assert {m.currency for m in catalog.markets.values()} == {"EUR", "SEK"}
    assert catalog.cities["sto"].timezone == "Europe/Stockholm"
    assert catalog.markets[catalog.cities["tre"].market_id].currency == "EUR"
    prices: dict[str, list[float]] = defaultdict(list)
    for item in catalog.items.values():
        prices[catalog.venues[item.venue_id].city_id].append(item.price)
    assert np.median(prices["sto"]) > 5 * np.median(prices["hel"])
    assert all(float(p).is_integer() for p in prices["sto"])
    orders = local_hours(nordic, of_type(nordic, "order"))
    cities = orders.join(
        pl.DataFrame(
            {
                "venue_id": list(catalog.venues),
                "city": [v.city_id for v in catalog.venues.values()],
            }
        ),
        on="venue_id",
    )
    assert set(cities["city"]) == {"hel", "sto", "tre"}
    home = {c.id: c.city_id for c in catalog.customers.values()}
    assert all(home[u] == c for u, c in cities.select("user_id", "city").iter_rows())


def test_paused_venues_are_never_shown(small: SimulationResult, nordic: SimulationResult) -> None:
    total = 0
    for result in (small, nordic):
        venues = result.catalog.venues.values()
        paused = {v.id for v in venues if v.status is VenueStatus.PAUSED}
        total += len(paused)
        assert paused.isdisjoint(of_type(result, "impression")["venue_id"])
    assert total > 0


def test_venues_deliver_to_their_neighbourhood(small: SimulationResult) -> None:
    venue = small.catalog.venues["v0"]
    assert venue.delivers_to(venue.location)
    far = Location(venue.location.lat + 0.1, venue.location.lon)
    assert not venue.delivers_to(far)
