"""The event log is well-formed and consistent with the catalog it was simulated against."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from palate.domain import Catalog, Location
from palate.events.schema import EVENT_SCHEMA, conform
from palate.simulate import SimulationConfig, SimulationResult, simulate, summarize
from tests.simulate.runs import frame, of_type

RUNS = ["small", "nordic"]


def minute_of_week(ts: datetime, timezone: str) -> int:
    local = ts.astimezone(ZoneInfo(timezone))
    return local.weekday() * 1440 + local.hour * 60 + local.minute


def servable(catalog: Catalog, venue_id: str, ts: datetime, lat: float, lon: float) -> bool:
    """Delivers to the point, open at the local time, taking orders and already onboarded."""
    venue = catalog.venues[venue_id]
    timezone = catalog.timezone_of(venue)
    onboarded = (
        venue.onboarded_on is None or venue.onboarded_on <= ts.astimezone(ZoneInfo(timezone)).date()
    )
    return (
        venue.delivers_to(Location(lat, lon))
        and venue.opening_hours.is_open_at(minute_of_week(ts, timezone))
        and venue.takes_orders
        and onboarded
    )


@pytest.mark.parametrize("run", RUNS)
def test_events_conform_to_the_schema_sorted_by_time_with_unique_ids(
    run: str, request: pytest.FixtureRequest
) -> None:
    result: SimulationResult = request.getfixturevalue(run)
    events = result.events
    assert events.schema.equals(EVENT_SCHEMA)
    assert conform(events).equals(events)
    df = frame(result)
    assert df["event_id"].n_unique() == df.height
    assert df["ts"].is_sorted()
    assert (
        df.select(pl.col("user_id", "ts", "lat", "lon").null_count()).sum_horizontal().item() == 0
    )
    assert set(df["type"]) == {"impression", "click", "add_to_cart", "order"}


@pytest.mark.parametrize("run", RUNS)
def test_every_order_was_deliverable_and_open_at_its_time_and_place(
    run: str, request: pytest.FixtureRequest
) -> None:
    result: SimulationResult = request.getfixturevalue(run)
    orders = of_type(result, "order")
    assert orders.height > 100
    for venue_id, ts, lat, lon in orders.select("venue_id", "ts", "lat", "lon").iter_rows():
        assert servable(result.catalog, venue_id, ts, lat, lon), (venue_id, ts)


def test_shown_venues_were_deliverable_and_open(nordic: SimulationResult) -> None:
    shown = of_type(nordic, "impression").sample(3_000, seed=1)
    for venue_id, ts, lat, lon in shown.select("venue_id", "ts", "lat", "lon").iter_rows():
        assert servable(nordic.catalog, venue_id, ts, lat, lon), (venue_id, ts)


def test_impressions_fill_positions_0_to_n_minus_1_per_request(small: SimulationResult) -> None:
    shown = of_type(small, "impression")
    per_request = shown.group_by("request_id").agg(
        pl.col("position").sort(), pl.len(), pl.col("venue_id").n_unique().alias("venues")
    )
    slots = small.config.impressions_per_session
    assert per_request["len"].max() == slots
    for positions, n, venues in per_request.select("position", "len", "venues").iter_rows():
        assert positions == list(range(n))
        assert venues == n
    assert (shown["entity_id"] == shown["venue_id"]).all()
    assert set(shown["entity_kind"]) == {"venue"}
    assert set(shown["premise"]) == {"discovery"}
    assert set(shown["section"]) == {small.config.section}
    assert shown.group_by("request_id").agg(pl.col("ts").n_unique())["ts"].max() == 1


def test_listed_clicks_point_at_an_impression_and_direct_clicks_have_no_request(
    small: SimulationResult,
) -> None:
    clicks = of_type(small, "click")
    shown = of_type(small, "impression").select("request_id", "venue_id", "position", "user_id")
    listed = clicks.filter(pl.col("request_id").is_not_null())
    matched = listed.join(shown, on=["request_id", "venue_id", "position", "user_id"], how="semi")
    assert matched.height == listed.height > 0
    direct = clicks.filter(pl.col("request_id").is_null())
    assert direct.height > 0
    assert direct["premise"].null_count() == direct.height


def test_orders_contain_only_their_venues_items_at_catalog_prices(
    nordic: SimulationResult,
) -> None:
    catalog = nordic.catalog
    orders = of_type(nordic, "order")
    for venue_id, lines, total in orders.select("venue_id", "lines", "total").iter_rows():
        assert lines
        for line in lines:
            item = catalog.items[line["item_id"]]
            assert item.venue_id == venue_id
            assert line["unit_price"] == item.price
            assert line["quantity"] >= 1
        assert total == pytest.approx(sum(x["quantity"] * x["unit_price"] for x in lines))


def test_ordered_items_were_added_to_the_cart_first(small: SimulationResult) -> None:
    lines = (
        of_type(small, "order")
        .select("order_id", "user_id", "venue_id", "ts", "lines")
        .explode("lines")
        .unnest("lines")
    )
    carts = of_type(small, "add_to_cart").select(
        "user_id", "venue_id", "item_id", pl.col("ts").alias("added"), pl.col("quantity").alias("q")
    )
    joined = lines.join(carts, on=["user_id", "venue_id", "item_id"]).filter(
        (pl.col("added") < pl.col("ts"))
        & (pl.col("ts") - pl.col("added") < pl.duration(minutes=15))
    )
    assert joined.select("order_id", "item_id").unique().height == lines.height
    item_venue = {i: item.venue_id for i, item in small.catalog.items.items()}
    assert all(item_venue[i] == v for i, v in carts.select("item_id", "venue_id").iter_rows())


def test_some_sessions_end_without_an_order_and_some_carts_are_abandoned(
    small: SimulationResult,
) -> None:
    df = frame(small)
    sessions = df.filter(pl.col("type") == "impression")["request_id"].n_unique()
    orders = of_type(small, "order")
    assert 0.15 * sessions < orders.height < 0.8 * sessions
    carts = of_type(small, "add_to_cart").select("user_id", "venue_id", "ts")
    ordered = orders.select("user_id", "venue_id", pl.col("ts").alias("ordered"))
    followed = carts.join(ordered, on=["user_id", "venue_id"], how="left").with_columns(
        hit=(pl.col("ordered") > pl.col("ts"))
        & (pl.col("ordered") - pl.col("ts") < pl.duration(minutes=15))
    )
    per_cart = followed.group_by("user_id", "venue_id", "ts").agg(pl.col("hit").any())
    assert 0.02 < 1 - per_cart["hit"].mean() < 0.5  # type: ignore[operator]


def test_order_lines_column_is_null_outside_orders(small: SimulationResult) -> None:
    df = frame(small)
    other = df.filter(pl.col("type") != "order")
    assert other["lines"].null_count() == other.height
    assert other["order_id"].null_count() == other.height
    carts = df.filter(pl.col("type") == "add_to_cart")
    assert carts["item_id"].null_count() == 0
    assert np.all(carts["quantity"].to_numpy() >= 1)


def test_local_times_stay_right_across_the_autumn_clock_change() -> None:
    result = simulate(
        SimulationConfig(seed=4, customers=400, days=14, start_date=date(2026, 10, 19))
    )
    weekend = of_type(result, "impression").filter(
        pl.col("ts").dt.date().is_between(pl.date(2026, 10, 24), pl.date(2026, 10, 26))
    )
    assert weekend.height > 1_000
    for venue_id, ts, lat, lon in weekend.select("venue_id", "ts", "lat", "lon").iter_rows():
        assert servable(result.catalog, venue_id, ts, lat, lon), (venue_id, ts)
    hours = summarize(result).orders_by_hour
    assert max(hours[17:22]) > 5 * max(hours[3:6])
