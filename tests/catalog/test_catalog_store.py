"""Catalog persistence: every entity and every optional field survives a save and a load."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from palate.catalog import VenueIndex, load_catalog, save_catalog
from palate.catalog.store import ITEMS, MANIFEST, VENUES
from palate.domain import (
    Banner,
    Catalog,
    City,
    Customer,
    Item,
    Location,
    Market,
    VenueStatus,
    WeeklyHours,
)
from tests.catalog.builders import HELSINKI, random_catalog, tiny_catalog


def every_corner_case() -> Catalog:
    """The tiny catalog plus the optional fields in each of their states."""
    catalog = tiny_catalog()
    catalog.markets["se"] = Market("se", "SE", "SEK", "Europe/Stockholm")
    catalog.cities["gbg"] = City("gbg", "Göteborg", "se", Location(57.7089, 11.9746))
    edge = catalog.venues["edge"]
    catalog.venues["empty_polygon"] = replace(edge, id="empty_polygon", delivery_polygon=())
    catalog.venues["closed"] = replace(
        edge, id="closed", opening_hours=WeeklyHours(()), tags=("new", "family"), categories=("c1",)
    )
    catalog.venues["odd"] = replace(
        edge,
        id="odd",
        name='Ödd ☕ "quoted"',
        delivery_radius_m=1234.5678901234,
        rating=4.999999999999,
        rating_count=2**40,
        prep_time_min=0.1,
        onboarded_on=date(1969, 12, 31),
        status=VenueStatus.BUSY,
        price_level=4,
    )
    catalog.items = {
        "i1": Item("i1", "edge", "Margherita", "pizza", 9.9, ("vegetarian",)),
        "i2": Item("i2", "late", "Free water", "drinks", 0.0, (), available=False),
    }
    catalog.banners = banners_with_every_kind_of_time()
    catalog.customers = {
        "nobody": Customer("nobody", "hel"),
        "both": Customer("both", "hel", home=HELSINKI, work=Location(60.2, 24.9)),
        "work_only": Customer("work_only", "sto", work=Location(59.3, 18.1)),
    }
    return catalog


def banners_with_every_kind_of_time() -> dict[str, Banner]:
    """An IANA zone (in the ambiguous hour of a DST change), UTC, naive, and none."""
    helsinki = ZoneInfo("Europe/Helsinki")
    return {
        "zoned": Banner(
            "zoned",
            "Autumn",
            "venue",
            "late",
            ("nordic", "se"),
            valid_from=datetime(2024, 10, 27, 3, 30, fold=1, tzinfo=helsinki),
            valid_to=datetime(2024, 11, 1, tzinfo=helsinki),
        ),
        "utc": Banner("utc", "UTC", "brand", "b1", valid_to=datetime(2025, 1, 1, tzinfo=UTC)),
        "naive": Banner("naive", "Naive", "category", "c1", valid_from=datetime(2024, 1, 1)),  # noqa: DTZ001
    }


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    catalog = every_corner_case()
    save_catalog(catalog, tmp_path / "cat")
    loaded = load_catalog(tmp_path / "cat")
    for name in ("markets", "cities", "venues", "items", "categories", "brands", "banners"):
        assert getattr(loaded, name) == getattr(catalog, name), name
        assert list(getattr(loaded, name)) == list(getattr(catalog, name)), name
    assert loaded.customers == catalog.customers
    assert loaded == catalog
    assert loaded.venues["empty_polygon"].delivery_polygon == ()
    assert loaded.venues["edge"].delivery_polygon is None
    zoned, original = loaded.banners["zoned"].valid_from, catalog.banners["zoned"].valid_from
    assert zoned is not None
    assert original is not None
    assert zoned.tzinfo == ZoneInfo("Europe/Helsinki")
    assert zoned.utcoffset() == original.utcoffset()


def test_random_catalog_round_trips_and_indexes_the_same(tmp_path: Path) -> None:
    catalog = random_catalog(5, n_venues=400, n_items=5_000)
    save_catalog(catalog, tmp_path)
    loaded = load_catalog(tmp_path)
    assert loaded == catalog
    before, after = VenueIndex.build(catalog), VenueIndex.build(loaded)
    when = datetime(2024, 6, 14, 19, 0, tzinfo=UTC)
    for bearing in range(0, 360, 30):
        at = Location(HELSINKI.lat + bearing / 36_000, HELSINKI.lon)
        assert (
            before.deliverable(at, when).venue_ids.tolist()
            == after.deliverable(at, when).venue_ids.tolist()
        )


def test_venues_and_items_are_columnar_parquet(tmp_path: Path) -> None:
    catalog = random_catalog(6, n_venues=50, n_items=300)
    save_catalog(catalog, tmp_path)
    venues = pq.read_table(tmp_path / VENUES)
    items = pq.read_table(tmp_path / ITEMS)
    assert venues.num_rows == 50
    assert items.num_rows == 300
    assert items.column("price").to_pylist() == [i.price for i in catalog.items.values()]
    assert str(venues.schema.field("onboarded_on").type) == "date32[day]"


def test_saving_again_replaces_the_files(tmp_path: Path) -> None:
    save_catalog(random_catalog(8, n_venues=30, n_items=40), tmp_path)
    smaller = tiny_catalog()
    save_catalog(smaller, tmp_path)
    assert load_catalog(tmp_path) == smaller
    assert not list(tmp_path.glob("*.tmp"))


def test_empty_catalog_round_trips(tmp_path: Path) -> None:
    save_catalog(Catalog(), tmp_path)
    assert load_catalog(tmp_path) == Catalog()


def test_unknown_format_version_is_refused(tmp_path: Path) -> None:
    save_catalog(tiny_catalog(), tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["version"] = 99
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="v99"):
        load_catalog(tmp_path)
