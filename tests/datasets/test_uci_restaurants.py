"""The UCI restaurant-consumer importer: venues with real geo, clicks and orders from ratings."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from palate.datasets import ImportedDataset
from palate.datasets.uci_restaurants import CITIES, city_of, import_uci_restaurants
from palate.domain import EventType, Location, haversine_m

MEXICO = {"lat": (14.5, 32.7), "lon": (-118.4, -86.7)}


@pytest.fixture(scope="module")
def ratings(uci_dir: Path) -> pl.DataFrame:
    return pl.read_csv(uci_dir / "rating_final.csv", infer_schema=False)


@pytest.fixture(scope="module")
def places(uci_dir: Path) -> pl.DataFrame:
    return pl.read_csv(uci_dir / "geoplaces2.csv", encoding="latin1", infer_schema=False)


@pytest.fixture(scope="module")
def events(uci: ImportedDataset) -> pl.DataFrame:
    frame = pl.from_arrow(uci.events)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _count(events: pl.DataFrame, kind: EventType) -> int:
    return events.filter(pl.col("type") == kind.value).height


def test_every_place_is_a_venue_in_mexico(uci: ImportedDataset, places: pl.DataFrame) -> None:
    assert len(uci.catalog.venues) == places.height == 130
    assert uci.catalog.markets["mx"].currency == "MXN"
    for venue in uci.catalog.venues.values():
        assert MEXICO["lat"][0] < venue.location.lat < MEXICO["lat"][1]
        assert MEXICO["lon"][0] < venue.location.lon < MEXICO["lon"][1]


def test_venues_lie_near_the_centre_of_their_metro(uci: ImportedDataset) -> None:
    for venue in uci.catalog.venues.values():
        centre = uci.catalog.cities[venue.city_id].center
        assert haversine_m(venue.location, centre) < 25_000, venue


def test_city_aliases_agree_with_geography(places: pl.DataFrame) -> None:
    """The alias table and the nearest-centre fallback name the same metro for every place."""
    nowhere = Location(0.0, 0.0)
    for raw_city, lat, lon in places.select("city", "latitude", "longitude").rows():
        nearest = city_of("?", Location(float(lat), float(lon)))
        if raw_city != "?":
            assert city_of(raw_city, nowhere) == nearest, raw_city
    assert set(CITIES) == {city_of("?", c.center) for c in CITIES.values()}


def test_price_cuisines_and_names_come_from_the_files(
    uci: ImportedDataset, places: pl.DataFrame, uci_dir: Path
) -> None:
    levels = {"low": 1, "medium": 2, "high": 3}
    for place_id, price in places.select("placeID", "price").rows():
        assert uci.catalog.venues[place_id].price_level == levels[price]
    cuisines = pl.read_csv(uci_dir / "chefmozcuisine.csv", infer_schema=False)
    mexican = set(cuisines.filter(pl.col("Rcuisine") == "Mexican").get_column("placeID"))
    tagged = {v.id for v in uci.catalog.venues.values() if "mexican" in v.cuisines}
    assert tagged == mexican & set(uci.catalog.venues)
    assert not any("Ã" in venue.name for venue in uci.catalog.venues.values())


def test_every_rating_is_a_click_and_top_ratings_are_orders(
    events: pl.DataFrame, ratings: pl.DataFrame
) -> None:
    assert _count(events, EventType.CLICK) == ratings.height == 1161
    assert _count(events, EventType.ORDER) == ratings.filter(pl.col("rating") == "2").height
    clicks = events.filter(pl.col("type") == EventType.CLICK.value)
    assert (clicks.get_column("entity_kind") == "venue").all()
    assert (clicks.get_column("entity_id") == clicks.get_column("venue_id")).all()
    orders = events.filter(pl.col("type") == EventType.ORDER.value)
    assert (orders.get_column("lines").list.len() == 0).all()


def test_order_threshold_is_a_parameter(uci_dir: Path, ratings: pl.DataFrame) -> None:
    lenient = pl.from_arrow(import_uci_restaurants(uci_dir, order_min_rating=1).events)
    assert isinstance(lenient, pl.DataFrame)
    assert _count(lenient, EventType.ORDER) == ratings.filter(pl.col("rating") != "0").height


def test_each_user_clicks_once_a_day_in_file_order(
    events: pl.DataFrame, ratings: pl.DataFrame
) -> None:
    clicks = events.filter(pl.col("type") == EventType.CLICK.value).with_columns(
        placeID=pl.col("venue_id"), userID=pl.col("user_id")
    )
    in_file_order = ratings.join(clicks, on=["userID", "placeID"], maintain_order="left")
    gaps = in_file_order.select(pl.col("ts").diff().over("userID").drop_nulls()).to_series()
    assert (gaps.dt.total_hours() == 24).all()
    local = clicks.get_column("ts").dt.convert_time_zone("America/Mexico_City")
    assert local.dt.hour().unique().to_list() == [14]
