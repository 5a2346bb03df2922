"""The DHRD importer on the real Singapore sample and on the same rows in the original layout."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from palate.datasets import ImportedDataset
from palate.datasets.dhrd import anchor_date, import_dhrd
from palate.datasets.dhrd_files import read_orders
from palate.datasets.geohash import decode
from palate.domain import EventType


@pytest.fixture(scope="module")
def sample_orders(dhrd_dir: Path) -> pl.DataFrame:
    return pl.read_csv(dhrd_dir / "orders_sample.csv", infer_schema=False)


@pytest.fixture(scope="module")
def events(dhrd: ImportedDataset) -> pl.DataFrame:
    frame = pl.from_arrow(dhrd.events)
    assert isinstance(frame, pl.DataFrame)
    return frame


@pytest.fixture(scope="module")
def orders(events: pl.DataFrame, sample_orders: pl.DataFrame) -> pl.DataFrame:
    return events.filter(pl.col("type") == EventType.ORDER.value).join(
        sample_orders, on="order_id", how="left"
    )


def write_original_layout(sample: Path, target: Path) -> None:
    """The sample's rows in the original release's files and columns (pandas index first)."""
    orders = pl.read_csv(sample / "orders_sample.csv", infer_schema=False)
    original = orders.select(
        "customer_id",
        "geohash",
        "order_id",
        "vendor_id",
        "product_id",
        "day_of_week",
        "order_time",
        order_day=pl.col("order_day") + " days",
    ).with_row_index("")
    original.head(5).write_csv(target / "orders_sg_train.txt")
    original.slice(5).write_csv(target / "orders_sg_test.txt")
    vendors = pl.read_csv(sample / "vendors_sample.csv", infer_schema=False)
    vendors.drop("latitude", "longitude").write_csv(target / "vendors_sg.txt")
    products = pl.read_csv(sample / "products_sample.csv", infer_schema=False)
    ordered = orders.select("vendor_id", "product_id", "name", "unit_price")
    pl.concat([products, ordered]).write_csv(target / "products_sg.txt")


def test_sample_is_singapore(dhrd: ImportedDataset) -> None:
    market = dhrd.catalog.markets["sg"]
    assert (market.currency, market.timezone) == ("SGD", "Asia/Singapore")
    assert list(dhrd.catalog.cities) == ["singapore"]


def test_each_order_row_is_an_order_with_its_product(
    orders: pl.DataFrame, sample_orders: pl.DataFrame
) -> None:
    assert orders.height == sample_orders.get_column("order_id").n_unique()
    first = orders.select(pl.col("lines").list.first().struct.field("item_id"))
    expected = orders.select(pl.concat_str("vendor_id", pl.lit(":"), "product_id"))
    assert (first.to_series() == expected.to_series()).all()
    assert orders.get_column("total").to_list() == pytest.approx(
        orders.get_column("unit_price").cast(pl.Float64).to_list()
    )


def test_local_time_reproduces_order_time_weekday_and_day_count(orders: pl.DataFrame) -> None:
    local = orders.get_column("ts").dt.convert_time_zone("Asia/Singapore")
    assert [t.strftime("%H:%M:%S") for t in local.dt.time()] == orders["order_time"].to_list()
    sunday_based = (local.dt.weekday() % 7).cast(pl.String)
    assert (sunday_based == orders.get_column("day_of_week")).all()
    day = (local.dt.date() - date(2022, 1, 1)).dt.total_days().cast(pl.String)
    assert (day == orders.get_column("order_day")).all()


def test_anchor_follows_the_weekday_column(dhrd_dir: Path) -> None:
    orders = read_orders((dhrd_dir / "orders_sample.csv",))
    assert anchor_date(orders) == date(2022, 1, 1)
    shifted = orders.with_columns(day_of_week=(pl.col("day_of_week") + 1) % 7)
    assert anchor_date(shifted) == date(2022, 1, 2)
    assert anchor_date(orders.with_columns(day_of_week=None)) == date(2022, 1, 1)


def test_events_are_placed_at_the_customer_geohash(orders: pl.DataFrame) -> None:
    for code, lat, lon in orders.select("geohash", "lat", "lon").rows():
        assert (lat, lon) == pytest.approx(decode(code))


def test_vendors_keep_location_chain_and_cuisine(dhrd: ImportedDataset, dhrd_dir: Path) -> None:
    vendors = pl.read_csv(dhrd_dir / "vendors_sample.csv", infer_schema=False)
    for vendor_id, chain_id, cuisine, lat, lon in vendors.select(
        "vendor_id", "chain_id", "primary_cuisine", "latitude", "longitude"
    ).rows():
        venue = dhrd.catalog.venues[vendor_id]
        assert (venue.location.lat, venue.location.lon) == pytest.approx((float(lat), float(lon)))
        assert venue.brand_id == chain_id
        assert chain_id in dhrd.catalog.brands
        assert venue.cuisines == (cuisine,)
        assert "location-estimated" not in venue.tags


def test_vendors_known_only_from_orders_sit_where_they_delivered(
    dhrd: ImportedDataset, orders: pl.DataFrame
) -> None:
    for vendor_id, cuisine, lat, lon in orders.select(
        "vendor_id", "primary_cuisine", "lat", "lon"
    ).rows():
        venue = dhrd.catalog.venues[vendor_id]
        assert "location-estimated" in venue.tags
        assert venue.cuisines == (cuisine,)
        assert (venue.location.lat, venue.location.lon) == pytest.approx((lat, lon))


def test_original_layout_imports_to_the_same_events(
    dhrd: ImportedDataset, dhrd_dir: Path, tmp_path: Path
) -> None:
    write_original_layout(dhrd_dir, tmp_path)
    original = import_dhrd(tmp_path)
    assert original.events.equals(dhrd.events)
    assert set(original.catalog.items) == set(dhrd.catalog.items)


def test_a_repeated_product_is_one_line_with_its_count(dhrd_dir: Path, tmp_path: Path) -> None:
    write_original_layout(dhrd_dir, tmp_path)
    train = pl.read_csv(tmp_path / "orders_sg_train.txt", infer_schema=False)
    pl.concat([train, train.head(1)]).write_csv(tmp_path / "orders_sg_train.txt")
    events = pl.from_arrow(import_dhrd(tmp_path).events)
    assert isinstance(events, pl.DataFrame)
    order = events.filter(pl.col("order_id") == train.get_column("order_id")[0])
    assert order.get_column("lines").list.len().to_list() == [1]
    assert order.select(pl.col("lines").list.first().struct.field("quantity")).item() == 2


def test_several_countries_need_a_choice(dhrd_dir: Path, tmp_path: Path) -> None:
    write_original_layout(dhrd_dir, tmp_path)
    for name in ("orders_tw_train.txt", "vendors_tw.txt", "products_tw.txt"):
        source = name.replace("tw", "sg")
        (tmp_path / name).write_bytes((tmp_path / source).read_bytes())
    with pytest.raises(ValueError, match="several DHRD countries"):
        import_dhrd(tmp_path)
    taiwan = import_dhrd(tmp_path, country="tw")
    assert list(taiwan.catalog.markets) == ["tw"]
    assert taiwan.events.column("event_id")[0].as_py().startswith("dhrd-tw:")
    with pytest.raises(ValueError, match="no DHRD files"):
        import_dhrd(tmp_path, country="se")
