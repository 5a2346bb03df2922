"""Importer for the UCI "Restaurant & consumer data" (San Luis Potosí, Cuernavaca, Victoria).

Reads ``rating_final.csv``, ``geoplaces2.csv`` (latin-1) and ``chefmozcuisine.csv``.
Conventions:

* **Market and cities.** One Mexican market (MXN, America/Mexico_City) with the three metro
  areas of the study. The free-text ``city`` column is normalised by an alias table (``s.l.p.``,
  ``slp``, ``san luis potos`` …); suburbs join their metro (Soledad de Graciano Sánchez →
  San Luis Potosí, Jiutepec → Cuernavaca) and a missing city (``?``) is the metro whose centre
  is nearest to the venue.
* **Venues.** Real coordinates; ``price`` low/medium/high → price level 1/2/3; cuisines from
  ``chefmozcuisine.csv`` as lower-case words (each also a catalog category); tags ``alcohol``
  (wine-beer or full bar) and ``franchise``. Names stored as UTF-8 read as latin-1 are repaired.
  Opening hours were not published with these files, so venues are always open; the delivery
  radius is a nominal 5 km. The venue ``rating`` stays unset so that ratings, which become the
  events, never leak into venue features.
* **Events.** A rating (0-2) says the consumer knows the place, so every rating is a click on the
  venue. A rating of at least ``order_min_rating`` (default 2, "very good") is also an order with
  no lines and total 0.0 (nothing about the bill is known), 30 minutes after the click: the
  strongest signal becomes the conversion, weaker ones remain interest.
* **Time.** Ratings carry no time. A user's k-th rating in file order (k = 0, 1, …) is placed on
  day k after 2011-01-01 at 14:00 Mexico City time, a deterministic, per-user increasing clock.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from palate.datasets.imported import ImportedDataset
from palate.datasets.naming import slug, words
from palate.datasets.order_events import LINE_DTYPE
from palate.datasets.tables import column_rows, read_csv_dump, sort_events, to_event_table
from palate.datasets.timeline import local_to_utc
from palate.domain import (
    Catalog,
    Category,
    City,
    Customer,
    EntityKind,
    EventType,
    Location,
    Market,
    Venue,
    haversine_m,
)
from palate.domain.hours import WeeklyHours

SOURCE = "uci-restaurants"
MARKET = Market(id="mx", country="MX", currency="MXN", timezone="America/Mexico_City")
CITIES = {
    city.id: city
    for city in (
        City("san-luis-potosi", "San Luis Potosí", "mx", Location(22.1565, -100.9855)),
        City("cuernavaca", "Cuernavaca", "mx", Location(18.9186, -99.2342)),
        City("ciudad-victoria", "Ciudad Victoria", "mx", Location(23.7369, -99.1411)),
    )
}
CITY_ALIASES = {
    "san-luis-potosi": "san-luis-potosi",
    "san-luis-potos": "san-luis-potosi",
    "slp": "san-luis-potosi",
    "s-l-p": "san-luis-potosi",
    "soledad": "san-luis-potosi",
    "cuernavaca": "cuernavaca",
    "jiutepec": "cuernavaca",
    "ciudad-victoria": "ciudad-victoria",
    "cd-victoria": "ciudad-victoria",
    "victoria": "ciudad-victoria",
}
PRICE_LEVELS = {"low": 1, "medium": 2, "high": 3}
ALCOHOL_SERVED = frozenset({"Wine-Beer", "Full_Bar"})
ANCHOR = date(2011, 1, 1)
LOCAL_CLOCK = timedelta(hours=14)
ORDER_AFTER_CLICK = timedelta(minutes=30)
DELIVERY_RADIUS_M = 5_000.0


def import_uci_restaurants(source: Path, *, order_min_rating: int = 2) -> ImportedDataset:
    """The UCI restaurant data in ``source`` as venues plus click and order events."""
    places = read_csv_dump(source / "geoplaces2.csv", encoding="latin1")
    cuisines = read_csv_dump(source / "chefmozcuisine.csv")
    ratings = read_csv_dump(source / "rating_final.csv")
    catalog = Catalog(markets={MARKET.id: MARKET}, cities=dict(CITIES))
    _add_venues(catalog, places, cuisines)
    _add_customers(catalog, ratings)
    events = rating_events(ratings, order_min_rating=order_min_rating)
    return ImportedDataset(catalog=catalog, events=to_event_table(sort_events(events)))


def city_of(raw_city: str, location: Location) -> str:
    """The metro id for a raw ``city`` value, else the metro nearest to ``location``.

    >>> city_of("s.l.p.", Location(0, 0)), city_of("?", Location(18.9, -99.2))
    ('san-luis-potosi', 'cuernavaca')
    """
    alias = CITY_ALIASES.get(slug(raw_city))
    if alias is not None:
        return alias
    return min(CITIES.values(), key=lambda city: haversine_m(city.center, location)).id


def repair_name(text: str) -> str:
    """Undo UTF-8 text that was decoded as latin-1; other text is returned unchanged.

    >>> repair_name("El RincÃ³n"), repair_name("El Rincón")
    ('El Rincón', 'El Rincón')
    """
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def _add_venues(catalog: Catalog, places: pl.DataFrame, cuisines: pl.DataFrame) -> None:
    by_place: dict[str, list[str]] = {}
    for place_id, cuisine in column_rows(cuisines, "placeID", "Rcuisine"):
        by_place.setdefault(place_id, []).append(cuisine)
    columns = ("placeID", "latitude", "longitude", "name", "city", "price", "alcohol", "franchise")
    for place_id, lat, lon, name, city, price, alcohol, franchise in column_rows(places, *columns):
        location = Location(float(lat), float(lon))
        venue_cuisines = sorted(by_place.get(place_id, []))
        for cuisine in venue_cuisines:
            catalog.categories.setdefault(
                slug(cuisine), Category(id=slug(cuisine), slug=slug(cuisine), name=words(cuisine))
            )
        tags = (*(("alcohol",) if alcohol in ALCOHOL_SERVED else ()),)
        catalog.venues[place_id] = Venue(
            id=place_id,
            name=repair_name(name),
            city_id=city_of(city, location),
            location=location,
            delivery_radius_m=DELIVERY_RADIUS_M,
            opening_hours=WeeklyHours.always(),
            cuisines=tuple(words(c) for c in venue_cuisines),
            categories=tuple(slug(c) for c in venue_cuisines),
            tags=(*tags, *(("franchise",) if franchise == "t" else ())),
            price_level=PRICE_LEVELS.get(price, 2),
        )


def _add_customers(catalog: Catalog, ratings: pl.DataFrame) -> None:
    """Each user lives in the metro of most of their rated venues (ties: first alphabetically)."""
    city_of_place = pl.DataFrame(
        {
            "placeID": list(catalog.venues),
            "city_id": [venue.city_id for venue in catalog.venues.values()],
        }
    )
    homes = (
        ratings.join(city_of_place, on="placeID", how="inner")
        .group_by("userID", "city_id")
        .len()
        .sort("userID", "len", "city_id", descending=[False, True, False])
        .unique("userID", keep="first", maintain_order=True)
    )
    for user_id, city_id in column_rows(homes, "userID", "city_id"):
        catalog.customers[user_id] = Customer(id=user_id, city_id=city_id)


def rating_events(ratings: pl.DataFrame, *, order_min_rating: int) -> pl.DataFrame:
    """Clicks for every rating and line-less orders for high ones (see the module notes)."""
    day = pl.int_range(pl.len()).over("userID")
    local = pl.lit(ANCHOR).cast(pl.Datetime("us")) + pl.duration(days=day) + LOCAL_CLOCK
    timed = ratings.with_columns(ts=local_to_utc(local, MARKET.timezone))
    pair = pl.concat_str(pl.col("userID"), pl.lit(":"), pl.col("placeID"))
    clicks = timed.select(
        event_id=pl.concat_str(pl.lit(f"{SOURCE}:click:"), pair),
        type=pl.lit(EventType.CLICK.value),
        user_id=pl.col("userID"),
        ts=pl.col("ts"),
        entity_kind=pl.lit(EntityKind.VENUE.value),
        entity_id=pl.col("placeID"),
        venue_id=pl.col("placeID"),
    )
    orders = timed.filter(pl.col("rating").cast(pl.Int64) >= order_min_rating).select(
        event_id=pl.concat_str(pl.lit(f"{SOURCE}:order:"), pair),
        type=pl.lit(EventType.ORDER.value),
        user_id=pl.col("userID"),
        ts=pl.col("ts") + ORDER_AFTER_CLICK,
        venue_id=pl.col("placeID"),
        order_id=pair,
        total=pl.lit(0.0),
        lines=pl.lit([], dtype=pl.List(LINE_DTYPE)),
    )
    return pl.concat([clicks, orders], how="diagonal_relaxed")
