"""Importer for the Delivery Hero Recommendation Dataset (DHRD, RecSys 2023).

Accepts the original files or a joined sample (see :mod:`palate.datasets.dhrd_files`) and
imports one country per call. Conventions:

* **Market.** From the file names (``sg``, ``se``, ``tw``) or, for a sample, from where its
  vendors and customers are: SG → SGD, Asia/Singapore; SE → SEK, Europe/Stockholm;
  TW → TWD, Asia/Taipei, with one city each (Singapore, Stockholm, Taipei), as in the release.
* **Venues.** Vendors at the centre of their geohash (or their decoded coordinates);
  ``chain_id`` → brand, ``primary_cuisine`` → the only cuisine and category. A vendor that
  orders name but the vendor file lacks is placed at the mean of its customers' locations and
  tagged ``location-estimated``. The delivery radius covers every customer cell the vendor
  served (at least 3 km); hours are unknown, so venues are always open. DHRD has no names:
  a vendor is called ``Vendor <id>``.
* **Items.** ``"{vendor_id}:{product_id}"`` with the product's name and its normalised
  ``unit_price`` as published (a relative price, not the currency amount); category is the
  vendor's cuisine. Products that only orders name come from the order rows of a joined sample
  (name, price) or get ``Product <id>`` and price 0.0.
* **Orders.** Rows sharing ``order_id`` form one order; a product repeated within it becomes
  one line whose quantity is the repeat count, in order of first appearance; unit price is the
  item's. The customer's geohash centre is the event location. One add-to-cart per line.
* **Time.** ``order_day`` counts days from an unnamed start. Day 0 is placed on the first date
  from 2022-01-01 whose weekday makes ``day_of_week`` (0 = Sunday) agree with ``order_day``
  for most rows (in the released data they agree exactly), and ``order_time`` is local time.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from palate.datasets.dhrd_catalog import build_catalog, item_frame, venue_frame
from palate.datasets.dhrd_files import (
    find_files,
    read_orders,
    read_products,
    read_vendors,
    with_geohash_centres,
)
from palate.datasets.imported import ImportedDataset
from palate.datasets.order_events import order_and_cart_events
from palate.datasets.tables import sort_events, to_event_table
from palate.datasets.timeline import local_to_utc
from palate.domain import City, Location, Market

MARKETS = {
    "sg": (
        Market(id="sg", country="SG", currency="SGD", timezone="Asia/Singapore"),
        City("singapore", "Singapore", "sg", Location(1.3521, 103.8198)),
    ),
    "se": (
        Market(id="se", country="SE", currency="SEK", timezone="Europe/Stockholm"),
        City("stockholm", "Stockholm", "se", Location(59.3293, 18.0686)),
    ),
    "tw": (
        Market(id="tw", country="TW", currency="TWD", timezone="Asia/Taipei"),
        City("taipei", "Taipei", "tw", Location(25.0330, 121.5654)),
    ),
}
COUNTRY_BOUNDS = {  # lat_min, lat_max, lon_min, lon_max
    "sg": (1.1, 1.5, 103.5, 104.2),
    "se": (55.0, 69.2, 10.5, 24.3),
    "tw": (21.8, 25.4, 119.3, 122.1),
}
BASE_ANCHOR = date(2022, 1, 1)
CART_STEP = timedelta(seconds=5)


def import_dhrd(source: Path, *, country: str | None = None) -> ImportedDataset:
    """One country of DHRD in ``source`` as vendors, menu items and order/cart events."""
    files = find_files(source, country)
    orders = with_geohash_centres(read_orders(files.orders), "geohash")
    vendors = read_vendors(files.vendors)
    code = files.country or infer_country(vendors, orders)
    market, city = MARKETS[code]
    products = read_products(files.products)
    lines = order_lines(orders, products, market.timezone)
    venues = venue_frame(vendors, products, lines, city.center)
    catalog = build_catalog(market, city, venues, item_frame(products, lines, venues), lines)
    events = order_and_cart_events(lines, source=f"dhrd-{code}", cart_step=CART_STEP)
    return ImportedDataset(catalog=catalog, events=to_event_table(sort_events(events)))


def infer_country(*frames: pl.DataFrame) -> str:
    """The country whose bounding box holds most of the frames' ``lat``/``lon`` points."""
    points = pl.concat([f.select("lat", "lon") for f in frames]).drop_nulls()
    counts = {
        code: points.filter(
            pl.col("lat").is_between(lat_min, lat_max) & pl.col("lon").is_between(lon_min, lon_max)
        ).height
        for code, (lat_min, lat_max, lon_min, lon_max) in COUNTRY_BOUNDS.items()
    }
    best = max(counts, key=lambda code: counts[code])
    if counts[best] == 0:
        raise ValueError("cannot tell the DHRD country: no location falls in SG, SE or TW")
    return best


def anchor_date(orders: pl.DataFrame) -> date:
    """Day 0: the first date from 2022-01-01 on which ``day_of_week`` mostly agrees."""
    known = orders.drop_nulls(["order_day", "day_of_week"])
    if known.is_empty():
        return BASE_ANCHOR
    # DHRD counts weekdays from Sunday; Python's date.weekday() from Monday.
    weekday_of_day0 = ((pl.col("day_of_week") + 6) % 7 - pl.col("order_day")) % 7
    weekday = known.select(weekday_of_day0.mode().sort().first()).item()
    return BASE_ANCHOR + timedelta(days=(int(weekday) - BASE_ANCHOR.weekday()) % 7)


def order_lines(orders: pl.DataFrame, products: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """One row per (order, product) with quantity, price, UTC time and customer location."""
    clock = pl.col("order_time").str.to_time("%H:%M:%S").cast(pl.Int64)
    day0 = pl.lit(anchor_date(orders)).cast(pl.Datetime("us"))
    local = day0 + pl.duration(days=pl.col("order_day"), nanoseconds=clock)
    priced = orders.with_row_index("seq").join(
        products.select("vendor_id", "product_id", catalog_name="name", catalog_price="unit_price"),
        on=["vendor_id", "product_id"],
        how="left",
        maintain_order="left",
    )
    return (
        priced.with_columns(
            pl.col(["customer_id", "vendor_id", "lat", "lon"]).first().over("order_id"),
            ts=local_to_utc(local, timezone).first().over("order_id"),
        )
        .group_by("order_id", "product_id", maintain_order=True)
        .agg(
            pl.col(
                "seq", "customer_id", "vendor_id", "ts", "lat", "lon", "primary_cuisine"
            ).first(),
            pl.coalesce("catalog_name", "name", pl.concat_str(pl.lit("Product "), "product_id"))
            .first()
            .alias("name"),
            pl.coalesce("catalog_price", "unit_price", pl.lit(0.0)).first().alias("unit_price"),
            pl.len().alias("quantity"),
        )
        .with_columns(
            user_id=pl.col("customer_id"),
            venue_id=pl.col("vendor_id"),
            item_id=pl.concat_str("vendor_id", pl.lit(":"), "product_id"),
        )
    )
