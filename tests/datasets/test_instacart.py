"""The Instacart importer against the real sample: counts, cart order and rebuilt timelines."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from palate.datasets import ImportedDataset
from palate.datasets.instacart import MARKET, VENUE_ID, import_instacart
from palate.domain import EventType


@pytest.fixture(scope="module")
def raw(instacart_dir: Path) -> pl.DataFrame:
    return pl.read_csv(instacart_dir / "orders_sample.csv").drop("")


@pytest.fixture(scope="module")
def kept(raw: pl.DataFrame) -> pl.DataFrame:
    """Raw lines without the user of the last line, whom the 150k-row cut may truncate."""
    return raw.filter(pl.col("user_id") != raw.get_column("user_id")[-1])


@pytest.fixture(scope="module")
def events(instacart: ImportedDataset) -> pl.DataFrame:
    frame = pl.from_arrow(instacart.events)
    assert isinstance(frame, pl.DataFrame)
    return frame


@pytest.fixture(scope="module")
def orders(events: pl.DataFrame, kept: pl.DataFrame) -> pl.DataFrame:
    """Imported orders with their raw order fields and New York local time."""
    facts = kept.group_by("order_id").agg(
        pl.col("user_id", "order_number", "order_dow", "order_hour_of_day").first()
    )
    return (
        events.filter(pl.col("type") == EventType.ORDER.value)
        .with_columns(pl.col("order_id").cast(pl.Int64))
        .join(facts, on="order_id", how="left")
        .with_columns(local=pl.col("ts").dt.convert_time_zone(MARKET.timezone))
        .sort("user_id", "order_number")
    )


def test_users_and_orders_match_the_file_without_the_cut_user(
    instacart: ImportedDataset, raw: pl.DataFrame, kept: pl.DataFrame, events: pl.DataFrame
) -> None:
    assert kept.get_column("user_id").n_unique() == raw.get_column("user_id").n_unique() - 1 == 592
    assert len(instacart.catalog.customers) == kept.get_column("user_id").n_unique()
    assert str(raw.get_column("user_id")[-1]) not in instacart.catalog.customers
    counts = events.group_by("type").len()
    by_type = dict(zip(counts.get_column("type"), counts.get_column("len"), strict=True))
    assert by_type[EventType.ORDER.value] == kept.get_column("order_id").n_unique()
    assert by_type[EventType.ADD_TO_CART.value] == kept.height


def test_one_venue_sells_every_product(instacart: ImportedDataset, instacart_dir: Path) -> None:
    products = pl.read_csv(instacart_dir / "products.csv")
    assert list(instacart.catalog.venues) == [VENUE_ID]
    assert len(instacart.catalog.items) == products.height
    assert {item.venue_id for item in instacart.catalog.items.values()} == {VENUE_ID}


def test_alcohol_department_items_are_tagged_alcohol(
    instacart: ImportedDataset, instacart_dir: Path
) -> None:
    departments = pl.read_csv(instacart_dir / "departments.csv")
    alcohol_id = departments.filter(pl.col("department") == "alcohol").get_column("department_id")
    products = pl.read_csv(instacart_dir / "products.csv")
    alcohol = set(
        products.filter(pl.col("department_id").is_in(alcohol_id))["product_id"].cast(str)
    )
    tagged = {item.id for item in instacart.catalog.items.values() if "alcohol" in item.tags}
    assert alcohol
    assert tagged == alcohol


def test_order_lines_follow_add_to_cart_order(events: pl.DataFrame, kept: pl.DataFrame) -> None:
    expected = (
        kept.sort("order_id", "add_to_cart_order")
        .group_by("order_id", maintain_order=True)
        .agg(pl.col("product_id").cast(pl.String).alias("expected"))
    )
    imported = (
        events.filter(pl.col("type") == EventType.ORDER.value)
        .select(
            pl.col("order_id").cast(pl.Int64),
            got=pl.col("lines").list.eval(pl.element().struct.field("item_id")),
        )
        .join(expected, on="order_id")
    )
    assert imported.height == expected.height
    assert (imported.get_column("got") == imported.get_column("expected")).all()


def test_local_weekday_matches_order_dow_with_sunday_as_zero(orders: pl.DataFrame) -> None:
    sunday_based = pl.col("local").dt.weekday() % 7  # polars: Monday = 1 … Sunday = 7
    assert orders.select((sunday_based == pl.col("order_dow")).all()).item()


def test_local_hour_matches_except_for_dst_gaps_and_pushed_orders(orders: pl.DataFrame) -> None:
    # 02:30 does not exist on a spring-forward night; it becomes 03:30 daylight time.
    skipped = (pl.col("order_hour_of_day") == 2) & (pl.col("local").dt.hour() == 3)
    mismatched = orders.filter(
        (pl.col("local").dt.hour() != pl.col("order_hour_of_day")) & ~skipped
    )
    pushed = orders.with_columns(gap=pl.col("ts").diff().over("user_id")).filter(
        pl.col("gap") == timedelta(minutes=10)
    )
    assert set(mismatched.get_column("order_id")) <= set(pushed.get_column("order_id"))
    assert mismatched.height < orders.height / 100


def test_each_user_timeline_strictly_increases(orders: pl.DataFrame) -> None:
    gaps = orders.select(pl.col("ts").diff().over("user_id").drop_nulls())
    assert (gaps.to_series() >= timedelta(minutes=10)).all()


def test_cart_events_fall_between_the_previous_order_and_their_own(
    events: pl.DataFrame, orders: pl.DataFrame
) -> None:
    bounds = orders.select(
        "order_id", "ts", previous=pl.col("ts").shift(1).over("user_id")
    ).with_columns(pl.col("order_id").cast(pl.String))
    carts = (
        events.filter(pl.col("type") == EventType.ADD_TO_CART.value)
        .with_columns(order_id=pl.col("event_id").str.split(":").list.get(2))
        .join(bounds, on="order_id", suffix="_order")
    )
    assert carts.height == events.filter(pl.col("type") == EventType.ADD_TO_CART.value).height
    assert (carts.get_column("ts") < carts.get_column("ts_order")).all()
    after_previous = carts.filter(pl.col("previous").is_not_null())
    assert (after_previous.get_column("ts") > after_previous.get_column("previous")).all()


def test_keeping_the_last_user_adds_exactly_their_orders(
    instacart_dir: Path, raw: pl.DataFrame
) -> None:
    everyone = import_instacart(instacart_dir, drop_last_user=False)
    assert len(everyone.catalog.customers) == raw.get_column("user_id").n_unique()
    types = everyone.events.column("type").to_pylist()
    assert types.count(EventType.ORDER.value) == raw.get_column("order_id").n_unique()
    assert types.count(EventType.ADD_TO_CART.value) == raw.height
