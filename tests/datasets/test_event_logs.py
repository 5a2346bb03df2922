"""Invariants every imported dataset must satisfy, checked on the real public files."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

from palate.datasets import ImportedDataset
from palate.domain import EventType
from palate.events.schema import EVENT_SCHEMA
from tests.datasets.timing import IMPORT_SECONDS

DATASETS = ("instacart", "completejourney", "uci", "dhrd")


@pytest.fixture(params=DATASETS)
def dataset(request: pytest.FixtureRequest) -> ImportedDataset:
    imported: ImportedDataset = request.getfixturevalue(request.param)
    return imported


def _events(dataset: ImportedDataset, kind: EventType | None = None) -> pl.DataFrame:
    frame = pl.from_arrow(dataset.events)
    assert isinstance(frame, pl.DataFrame)
    return frame if kind is None else frame.filter(pl.col("type") == kind.value)


def _items(dataset: ImportedDataset) -> pl.DataFrame:
    items = dataset.catalog.items.values()
    return pl.DataFrame(
        {"item_id": [i.id for i in items], "item_venue": [i.venue_id for i in items]},
        schema={"item_id": pl.String, "item_venue": pl.String},
    )


def test_events_have_exactly_the_event_schema(dataset: ImportedDataset) -> None:
    assert dataset.events.schema == EVENT_SCHEMA
    assert dataset.events.num_rows > 0


def test_events_are_utc_sorted_and_uniquely_identified(dataset: ImportedDataset) -> None:
    events = _events(dataset)
    assert dataset.events.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert dataset.events.column("ts")[0].as_py().utcoffset().total_seconds() == 0
    assert events.get_column("ts").null_count() == 0
    assert events.get_column("ts").is_sorted()
    assert events.get_column("event_id").n_unique() == events.height
    assert events.get_column("user_id").null_count() == 0
    assert set(events.get_column("type").unique()) <= {t.value for t in EventType}


def test_order_lines_are_catalog_items_of_the_order_venue(dataset: ImportedDataset) -> None:
    orders = _events(dataset, EventType.ORDER)
    lines = orders.select("venue_id", "lines").explode("lines").drop_nulls("lines").unnest("lines")
    joined = lines.join(_items(dataset), on="item_id", how="left")
    assert joined.get_column("item_venue").null_count() == 0
    assert (joined.get_column("item_venue") == joined.get_column("venue_id")).all()
    assert (lines.get_column("quantity") > 0).all()
    assert (lines.get_column("unit_price") >= 0).all()


def test_order_totals_are_the_sum_of_their_lines(dataset: ImportedDataset) -> None:
    orders = _events(dataset, EventType.ORDER)
    assert orders.get_column("lines").null_count() == 0
    line_sum = orders.select(
        pl.col("lines")
        .list.eval(pl.element().struct.field("quantity") * pl.element().struct.field("unit_price"))
        .list.sum(),
        "total",
    )
    assert line_sum.select((pl.col("lines") - pl.col("total")).abs().max()).item() < 1e-6


def test_cart_events_point_at_items_of_their_venue(dataset: ImportedDataset) -> None:
    carts = _events(dataset, EventType.ADD_TO_CART)
    joined = carts.join(_items(dataset), on="item_id", how="left")
    assert joined.get_column("item_venue").null_count() == 0
    assert (joined.get_column("item_venue") == joined.get_column("venue_id")).all()


def test_events_refer_to_catalog_venues_customers_and_cities(dataset: ImportedDataset) -> None:
    catalog = dataset.catalog
    venue_ids = set(dataset.events.column("venue_id").drop_null().unique().to_pylist())
    user_ids = set(dataset.events.column("user_id").unique().to_pylist())
    assert venue_ids <= set(catalog.venues)
    assert user_ids <= set(catalog.customers)
    for venue in catalog.venues.values():
        city = catalog.cities[venue.city_id]
        assert city.market_id in catalog.markets
    for customer in catalog.customers.values():
        assert customer.city_id in catalog.cities


def test_print_import_times(
    instacart: ImportedDataset,
    completejourney: ImportedDataset,
    uci: ImportedDataset,
    dhrd: ImportedDataset,
) -> None:
    """Figures for the record (``pytest -s``); not asserted, machines differ."""
    for name, seconds in sorted(IMPORT_SECONDS.items()):
        print(f"import {name}: {seconds:.2f}s")  # noqa: T201
    assert set(IMPORT_SECONDS) == {"instacart", "completejourney", "uci-restaurants", "dhrd"}
