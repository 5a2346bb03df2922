"""The DHRD catalog: vendors, menu items, chains, cuisines and customers (see :mod:`.dhrd`)."""

from __future__ import annotations

import math

import polars as pl

from palate.datasets.naming import slug, words
from palate.datasets.tables import column_rows
from palate.domain import Brand, Catalog, Category, City, Customer, Item, Location, Market, Venue
from palate.domain.geo import EARTH_RADIUS_M
from palate.domain.hours import WeeklyHours

MIN_DELIVERY_RADIUS_M = 3_000.0
CELL_MARGIN_M = 3_500.0  # half the diagonal of a 5-character geohash cell near the equator
UNKNOWN_CUISINE = "unknown"


def haversine_expr(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Great-circle metres between two coordinate columns (cf. ``palate.domain.haversine_m``).

    >>> pl.select(haversine_expr(pl.lit(0.0), pl.lit(0.0), pl.lit(0.0), pl.lit(1.0))).item()
    111195.08...
    """
    rad = math.pi / 180.0
    half_dlat = (lat2 - lat1) * rad / 2
    half_dlon = (lon2 - lon1) * rad / 2
    h = half_dlat.sin() ** 2 + (lat1 * rad).cos() * (lat2 * rad).cos() * half_dlon.sin() ** 2
    return 2 * EARTH_RADIUS_M * h.sqrt().arcsin()


def venue_frame(
    vendors: pl.DataFrame, products: pl.DataFrame, lines: pl.DataFrame, centre: Location
) -> pl.DataFrame:
    """One row per vendor named anywhere, with location, cuisine, chain and delivery radius."""
    served = lines.group_by("venue_id").agg(
        pl.col("lat").mean().alias("customer_lat"),
        pl.col("lon").mean().alias("customer_lon"),
        pl.col("primary_cuisine").drop_nulls().first().alias("order_cuisine"),
    )
    named = pl.concat(
        [
            vendors.select(venue_id="vendor_id"),
            products.select(venue_id="vendor_id"),
            lines.select("venue_id"),
        ]
    ).unique(maintain_order=True)
    placed = (
        named.join(vendors.rename({"vendor_id": "venue_id"}), on="venue_id", how="left")
        .join(served, on="venue_id", how="left")
        .select(
            "venue_id",
            "chain_id",
            cuisine=pl.coalesce("primary_cuisine", "order_cuisine", pl.lit(UNKNOWN_CUISINE)),
            estimated=pl.col("lat").is_null(),
            lat=pl.coalesce("lat", "customer_lat", pl.lit(centre.lat)),
            lon=pl.coalesce("lon", "customer_lon", pl.lit(centre.lon)),
        )
    )
    return placed.join(_reach(placed, lines), on="venue_id", how="left").with_columns(
        radius=pl.max_horizontal(
            pl.col("reach").fill_null(0.0) + CELL_MARGIN_M, MIN_DELIVERY_RADIUS_M
        )
    )


def _reach(venues: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """The farthest customer cell centre each venue delivered to."""
    pairs = lines.select("venue_id", "lat", "lon").drop_nulls().unique()
    here = venues.select("venue_id", venue_lat="lat", venue_lon="lon")
    distance = haversine_expr(
        pl.col("venue_lat"), pl.col("venue_lon"), pl.col("lat"), pl.col("lon")
    )
    return pairs.join(here, on="venue_id").group_by("venue_id").agg(distance.max().alias("reach"))


def item_frame(products: pl.DataFrame, lines: pl.DataFrame, venues: pl.DataFrame) -> pl.DataFrame:
    """Every product of the products file plus those only orders name, one row per item."""
    listed = products.select(
        venue_id="vendor_id",
        item_id=pl.concat_str("vendor_id", pl.lit(":"), "product_id"),
        name=pl.coalesce("name", pl.concat_str(pl.lit("Product "), "product_id")),
        price=pl.col("unit_price").fill_null(0.0),
    )
    ordered = lines.select("venue_id", "item_id", "name", price="unit_price")
    return (
        pl.concat([listed, ordered])
        .unique("item_id", keep="first", maintain_order=True)
        .join(venues.select("venue_id", "cuisine"), on="venue_id", how="left")
    )


def build_catalog(
    market: Market, city: City, venues: pl.DataFrame, items: pl.DataFrame, lines: pl.DataFrame
) -> Catalog:
    """The catalog of one DHRD country from :func:`venue_frame` and :func:`item_frame`."""
    catalog = Catalog(markets={market.id: market}, cities={city.id: city})
    _add_venues(catalog, venues, city.id)
    columns = ("item_id", "venue_id", "name", "cuisine", "price")
    for item_id, venue_id, name, cuisine, price in column_rows(items, *columns):
        catalog.items[item_id] = Item(item_id, venue_id, name, slug(cuisine), max(price, 0.0))
    _add_customers(catalog, lines, city.id)
    return catalog


def _add_venues(catalog: Catalog, venues: pl.DataFrame, city_id: str) -> None:
    columns = ("venue_id", "chain_id", "cuisine", "estimated", "lat", "lon", "radius")
    for venue_id, chain_id, cuisine, estimated, lat, lon, radius in column_rows(venues, *columns):
        category = slug(cuisine)
        catalog.categories.setdefault(category, Category(category, category, words(cuisine)))
        if chain_id is not None:
            catalog.brands.setdefault(chain_id, Brand(id=chain_id, name=f"Chain {chain_id}"))
        catalog.venues[venue_id] = Venue(
            id=venue_id,
            name=f"Vendor {venue_id}",
            city_id=city_id,
            location=Location(lat, lon),
            delivery_radius_m=radius,
            opening_hours=WeeklyHours.always(),
            brand_id=chain_id,
            cuisines=(words(cuisine),),
            categories=(category,),
            tags=("location-estimated",) if estimated else (),
        )


def _add_customers(catalog: Catalog, lines: pl.DataFrame, city_id: str) -> None:
    """Home is the cell a customer ordered from most (ties: the first in order)."""
    per_order = lines.unique("order_id", keep="first", maintain_order=True)
    homes = (
        per_order.group_by("user_id", "lat", "lon", maintain_order=True)
        .len()
        .sort("len", descending=True, maintain_order=True)
        .unique("user_id", keep="first", maintain_order=True)
        .sort("user_id")
    )
    for user_id, lat, lon in column_rows(homes, "user_id", "lat", "lon"):
        home = None if lat is None or lon is None else Location(lat, lon)
        catalog.customers[user_id] = Customer(id=user_id, city_id=city_id, home=home)
