"""Importer for the Instacart Online Grocery Shopping 2017 sample.

Reads ``orders_sample.csv`` (one row per order line, pandas index first), ``products.csv``,
``aisles.csv`` and ``departments.csv``. Conventions:

* **Market and venue.** One US market (USD, America/New_York) with one placeholder city centred
  on New York, and ONE venue ``instacart`` selling every product: Instacart is a single
  storefront to its users, and the data say nothing about stores. The venue sits at the city
  centre with a 50 km delivery radius and is always open.
* **Items.** Every product of ``products.csv`` is an item of that venue; ``category`` is the
  aisle's slug (each aisle is also a catalog category), ``tags`` is the department's slug
  (so the ``alcohol`` department tags alcohol), ``price`` is 0.0 because Instacart published
  no prices: 0.0 means *unknown* here, on items and on order lines alike.
* **Orders.** Each ``order_id`` is an order with quantity-1 lines in ``add_to_cart_order``
  sequence, total 0.0, plus one add-to-cart event per line a second apart before checkout.
* **Time.** Only ``order_dow``, ``order_hour_of_day`` and ``days_since_prior_order`` exist.
  ``order_dow`` is read as 0 = Sunday (the common reading; Instacart never said). Each user's
  first order falls in the week starting Sunday 2017-01-01 on its ``order_dow``; later orders
  add ``days_since_prior_order`` days. That field is capped at 30, so a gap of 30 means "the
  smallest gap of at least 30 days that lands on the recorded weekday"; with that, every
  reconstructed weekday matches ``order_dow`` (uncapped gaps already agree in the data). The
  clock is the middle of ``order_hour_of_day`` in New York time. Orders of a user that would
  not follow the previous one by 10 minutes (same-day orders whose hours go backwards) are
  moved to 10 minutes after it, so each user's timeline strictly increases.
* **Cut-off user.** The sample is the first 150,000 lines of a larger file, so the user of the
  last line may be truncated; that user is dropped (``drop_last_user``).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from palate.datasets.imported import ImportedDataset
from palate.datasets.naming import slug_expr
from palate.datasets.order_events import order_and_cart_events
from palate.datasets.tables import column_rows, read_csv_dump, sort_events, to_event_table
from palate.datasets.timeline import local_to_utc, spread_forward
from palate.domain import Catalog, Category, City, Customer, Item, Location, Market, Venue
from palate.domain.hours import WeeklyHours

SOURCE = "instacart"
VENUE_ID = "instacart"
MARKET = Market(id="us", country="US", currency="USD", timezone="America/New_York")
CITY = City(
    id="instacart-us", name="Instacart US", market_id="us", center=Location(40.7128, -74.0060)
)
ANCHOR = date(2017, 1, 1)  # a Sunday: days after it modulo 7 equal order_dow
DAYS_SINCE_PRIOR_CAP = 30
MIN_ORDER_GAP = timedelta(minutes=10)
CART_STEP = timedelta(seconds=1)
DELIVERY_RADIUS_M = 50_000.0
GROCERY = Category(id="grocery", slug="grocery", name="Grocery")


def import_instacart(source: Path, *, drop_last_user: bool = True) -> ImportedDataset:
    """The Instacart sample in ``source`` as a one-venue catalog and order/cart events."""
    lines = _read_lines(source / "orders_sample.csv", drop_last_user=drop_last_user)
    products = _read_products(source)
    known = products.select(pl.col("item_id"))
    unknown = lines.select("item_id").unique().join(known, on="item_id", how="anti")
    catalog = _catalog(products, unknown, lines.get_column("user_id").unique().sort())
    timed = lines.join(order_times(_orders_of(lines)), on="order_id", how="left")
    events = order_and_cart_events(
        timed.with_columns(venue_id=pl.lit(VENUE_ID), quantity=pl.lit(1), unit_price=pl.lit(0.0)),
        source=SOURCE,
        cart_step=CART_STEP,
    )
    return ImportedDataset(catalog=catalog, events=to_event_table(sort_events(events)))


def _read_lines(path: Path, *, drop_last_user: bool) -> pl.DataFrame:
    raw = read_csv_dump(path)
    if drop_last_user and raw.height:
        raw = raw.filter(pl.col("user_id") != raw.get_column("user_id")[-1])
    return raw.select(
        pl.col("order_id"),
        pl.col("user_id"),
        pl.col("order_number").cast(pl.Int64),
        pl.col("order_dow").cast(pl.Int64),
        pl.col("order_hour_of_day").cast(pl.Int64),
        pl.col("days_since_prior_order").cast(pl.Float64).cast(pl.Int64),
        item_id=pl.col("product_id"),
        seq=pl.col("add_to_cart_order").cast(pl.Float64).cast(pl.Int64),
    )


def _orders_of(lines: pl.DataFrame) -> pl.DataFrame:
    keys = ("order_number", "order_dow", "order_hour_of_day", "days_since_prior_order")
    return lines.group_by("order_id").agg(pl.col("user_id", *keys).first())


def order_times(orders: pl.DataFrame) -> pl.DataFrame:
    """``order_id`` → reconstructed UTC ``ts`` for one row per order (see the module notes)."""
    dow = pl.col("order_dow")
    prior = pl.col("days_since_prior_order")
    capped_gap = DAYS_SINCE_PRIOR_CAP + (dow - dow.shift(1) - DAYS_SINCE_PRIOR_CAP) % 7
    with_gap = orders.sort("user_id", "order_number").with_columns(
        gap=pl.when(prior >= DAYS_SINCE_PRIOR_CAP).then(capped_gap).otherwise(prior).over("user_id")
    )
    day = dow.first().over("user_id") + pl.col("gap").fill_null(0).cum_sum().over("user_id")
    local = pl.lit(ANCHOR).cast(pl.Datetime("us")) + pl.duration(
        days=day, hours=pl.col("order_hour_of_day"), minutes=pl.lit(30)
    )
    return (
        with_gap.with_columns(ts=local_to_utc(local, MARKET.timezone))
        .with_columns(spread_forward("ts", group="user_id", min_gap=MIN_ORDER_GAP))
        .select("order_id", "ts")
    )


def _read_products(source: Path) -> pl.DataFrame:
    aisles = read_csv_dump(source / "aisles.csv")
    departments = read_csv_dump(source / "departments.csv")
    return (
        read_csv_dump(source / "products.csv")
        .join(aisles, on="aisle_id", how="left")
        .join(departments, on="department_id", how="left")
        .select(
            item_id=pl.col("product_id"),
            name=pl.col("product_name"),
            aisle=pl.col("aisle").fill_null("missing"),
            category=slug_expr(pl.col("aisle").fill_null("missing")),
            tag=slug_expr(pl.col("department").fill_null("missing")),
        )
    )


def _catalog(products: pl.DataFrame, unknown: pl.DataFrame, users: pl.Series) -> Catalog:
    catalog = Catalog(markets={MARKET.id: MARKET}, cities={CITY.id: CITY})
    venue = Venue(
        id=VENUE_ID,
        name="Instacart",
        city_id=CITY.id,
        location=CITY.center,
        delivery_radius_m=DELIVERY_RADIUS_M,
        opening_hours=WeeklyHours.always(),
        tags=("grocery",),
        categories=(GROCERY.id,),
    )
    catalog.venues[venue.id] = venue
    catalog.categories[GROCERY.id] = GROCERY
    for aisle, category in products.select("aisle", "category").unique().sort("category").rows():
        catalog.categories[category] = Category(id=category, slug=category, name=aisle)
    for item_id, name, category, tag in column_rows(products, "item_id", "name", "category", "tag"):
        catalog.items[item_id] = Item(item_id, VENUE_ID, name, category, 0.0, (tag,))
    # Orders may name products the products file lacks; they still need an item to point at.
    for (item_id,) in unknown.rows():
        catalog.items[item_id] = Item(item_id, VENUE_ID, f"Product {item_id}", "missing", 0.0)
    for user_id in users:
        catalog.customers[user_id] = Customer(id=user_id, city_id=CITY.id)
    return catalog
