"""The Complete Journey importer against the real 1.47M-line transactions file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from palate.datasets import ImportedDataset
from palate.datasets.completejourney import MARKET
from palate.domain import EventType


@pytest.fixture(scope="module")
def sold(completejourney_dir: Path) -> pl.DataFrame:
    """Raw lines that survive the documented filter: a positive quantity."""
    raw = pl.read_parquet(completejourney_dir / "transactions.parquet")
    return raw.filter(pl.col("quantity") > 0)


@pytest.fixture(scope="module")
def events(completejourney: ImportedDataset) -> pl.DataFrame:
    frame = pl.from_arrow(completejourney.events)
    assert isinstance(frame, pl.DataFrame)
    return frame


@pytest.fixture(scope="module")
def orders(events: pl.DataFrame) -> pl.DataFrame:
    return events.filter(pl.col("type") == EventType.ORDER.value)


def test_households_stores_and_baskets_match_the_file(
    completejourney: ImportedDataset, sold: pl.DataFrame, orders: pl.DataFrame
) -> None:
    assert orders.height == sold.get_column("basket_id").n_unique()
    assert orders.get_column("user_id").n_unique() == sold.get_column("household_id").n_unique()
    assert len(completejourney.catalog.customers) == sold.get_column("household_id").n_unique()
    assert len(completejourney.catalog.venues) == sold.get_column("store_id").n_unique()


def test_zero_quantity_lines_are_dropped_and_the_rest_kept(
    completejourney_dir: Path, sold: pl.DataFrame, events: pl.DataFrame, orders: pl.DataFrame
) -> None:
    raw_rows = pl.scan_parquet(completejourney_dir / "transactions.parquet").select(pl.len())
    assert sold.height < raw_rows.collect().item()
    carts = events.filter(pl.col("type") == EventType.ADD_TO_CART.value)
    assert carts.height == sold.height
    assert orders.get_column("lines").list.len().sum() == sold.height


def test_order_totals_add_up_to_sales_value(sold: pl.DataFrame, orders: pl.DataFrame) -> None:
    assert orders.get_column("total").sum() == pytest.approx(sold.get_column("sales_value").sum())


def test_baskets_keep_household_store_and_timestamp(
    sold: pl.DataFrame, orders: pl.DataFrame
) -> None:
    baskets = sold.group_by("basket_id").agg(
        pl.col("household_id", "store_id", "transaction_timestamp").first()
    )
    joined = orders.with_columns(basket_id=pl.col("order_id").cast(pl.Int64)).join(
        baskets, on="basket_id"
    )
    assert joined.height == orders.height
    assert (joined["user_id"] == joined["household_id"].cast(pl.String)).all()
    assert (joined["venue_id"] == joined["store_id"].cast(pl.String)).all()
    naive_utc = joined.get_column("ts").dt.replace_time_zone(None).cast(pl.Datetime("ns"))
    assert (naive_utc == joined.get_column("transaction_timestamp")).all()


def test_timestamps_read_as_utc_put_every_basket_in_2017_new_york_time(
    orders: pl.DataFrame,
) -> None:
    local_year = orders.get_column("ts").dt.convert_time_zone(MARKET.timezone).dt.year()
    assert local_year.unique().to_list() == [2017]


def test_store_items_carry_category_price_and_tags(completejourney: ImportedDataset) -> None:
    items = completejourney.catalog.items
    assert all(item.id.startswith(f"{item.venue_id}:") for item in items.values())
    assert all(item.price >= 0 for item in items.values())
    alcohol = [item for item in items.values() if "alcohol" in item.tags]
    assert alcohol
    assert {item.category for item in alcohol} <= {
        "domestic-wine",
        "imported-wine",
        "misc-wine",
        "liquor",
        "beers-ales",
    }
    assert any("private-label" in item.tags for item in items.values())
    assert set(completejourney.catalog.categories) >= {item.category for item in items.values()}
