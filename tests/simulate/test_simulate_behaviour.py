"""Customers behave as food-delivery data shows: habits, mealtimes, places, tastes."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from palate.domain import Location
from palate.simulate import SimulationResult, summarize
from palate.simulate.spatial import haversine_m
from tests.simulate.runs import local_hours, of_type
from tests.simulate.test_simulate_events import minute_of_week

BREAKFAST = {"breakfast", "bakery"}
LATE_NIGHT = {"kebab", "pizza", "burger"}


def with_cuisine(result: SimulationResult, events: pl.DataFrame) -> pl.DataFrame:
    cuisines = pl.DataFrame(
        {
            "venue_id": list(result.catalog.venues),
            "cuisine": [v.cuisines[0] for v in result.catalog.venues.values()],
        }
    )
    return events.join(cuisines, on="venue_id")


def rows_of(ids: pl.Series) -> np.ndarray:
    return ids.str.slice(1).cast(pl.Int64).to_numpy()


def test_repeat_share_is_between_40_and_60_percent(moderate: SimulationResult) -> None:
    share = summarize(moderate).repeat_share
    assert 0.40 <= share <= 0.60, share


def test_lunch_and_dinner_peaks_tower_over_night_and_mid_afternoon(
    moderate: SimulationResult,
) -> None:
    by_hour = summarize(moderate).orders_by_hour
    lunch, dinner = max(by_hour[11:15]), max(by_hour[17:22])
    night, afternoon = max(by_hour[3:6]), max(by_hour[15:17])
    assert lunch > 5 * night
    assert dinner > 5 * night
    assert lunch > 1.2 * afternoon
    assert dinner > 1.2 * afternoon
    assert dinner > lunch  # dinner is the bigger meal for delivery


def test_breakfast_in_the_morning_and_kebab_late_at_night(moderate: SimulationResult) -> None:
    orders = with_cuisine(moderate, local_hours(moderate, of_type(moderate, "order")))
    morning = orders.filter(pl.col("hour").is_between(6, 10))
    evening = orders.filter(pl.col("hour").is_between(17, 21))
    late = orders.filter((pl.col("hour") >= 22) | (pl.col("hour") <= 2))
    lunch = orders.filter(pl.col("hour").is_between(11, 14))

    def share(df: pl.DataFrame, cuisines: set[str]) -> float:
        return float(df["cuisine"].is_in(list(cuisines)).mean())  # type: ignore[arg-type]

    assert share(morning, BREAKFAST) > 4 * share(evening, BREAKFAST)
    assert share(late, LATE_NIGHT) > 1.3 * share(lunch, LATE_NIGHT)


def test_workers_order_to_the_office_at_weekday_lunch_and_home_otherwise(
    moderate: SimulationResult,
) -> None:
    truth = moderate.truth
    orders = local_hours(moderate, of_type(moderate, "order"))
    users = rows_of(orders["user_id"])
    lat, lon = orders["lat"].to_numpy(), orders["lon"].to_numpy()
    to_home = haversine_m(lat, lon, truth.home_lat[users], truth.home_lon[users])
    to_work = haversine_m(lat, lon, truth.work_lat[users], truth.work_lon[users])
    worker = ~np.isnan(truth.work_lat[users])
    hour, weekday = orders["hour"].to_numpy(), orders["weekday"].to_numpy()
    weekday_lunch = worker & (weekday <= 5) & (hour >= 11) & (hour < 14)
    weekend_lunch = worker & (weekday >= 6) & (hour >= 11) & (hour < 14)
    assert np.mean(to_work[weekday_lunch] < 200) > 0.7
    assert np.mean(to_home[weekend_lunch] < 200) > 0.95
    assert np.mean(to_home[~worker] < 200) > 0.95


def test_vegetarian_leaning_customers_order_more_vegetarian_items(
    moderate: SimulationResult,
) -> None:
    lines = of_type(moderate, "order").select("user_id", "lines").explode("lines").unnest("lines")
    veg_items = [i for i, item in moderate.catalog.items.items() if "vegetarian" in item.tags]
    is_veg = lines["item_id"].is_in(veg_items).to_numpy()
    leaning = moderate.truth.vegetarian[rows_of(lines["user_id"])] > 0.5
    assert leaning.sum() > 200
    assert is_veg[leaning].mean() > is_veg[~leaning].mean() + 0.1


def test_ordered_venues_have_higher_true_utility_than_random_deliverable_ones(
    moderate: SimulationResult,
) -> None:
    catalog, truth = moderate.catalog, moderate.truth
    orders = of_type(moderate, "order").sample(300, seed=2)
    rng = random.Random(0)
    alternatives = []
    for venue_id, ts, lat, lon in orders.select("venue_id", "ts", "lat", "lon").iter_rows():
        point, tz = Location(lat, lon), catalog.timezone_of(catalog.venues[venue_id])
        minute = minute_of_week(ts, tz)
        day = ts.astimezone(ZoneInfo(tz)).date()
        options = [
            v.id
            for v in catalog.venues.values()
            if v.delivers_to(point)
            and v.opening_hours.is_open_at(minute)
            and v.takes_orders
            and (v.onboarded_on is None or v.onboarded_on <= day)
        ]
        alternatives.append(rng.choice(options))
    when = orders["ts"].dt.replace_time_zone(None).to_numpy()
    lat, lon = orders["lat"].to_numpy(), orders["lon"].to_numpy()
    users = orders["user_id"].to_list()
    chosen = truth.utility(users, orders["venue_id"].to_list(), when, lat, lon)
    other = truth.utility(users, alternatives, when, lat, lon)
    assert chosen.mean() > other.mean() + 1.0
    assert np.mean(chosen > other) > 0.75


def test_new_venues_win_orders_after_they_open(moderate: SimulationResult) -> None:
    start = moderate.config.start_date
    new = {v.id: v.onboarded_on for v in moderate.catalog.venues.values() if "new" in v.tags}
    assert new
    assert all(start < day for day in new.values() if day is not None)
    orders = of_type(moderate, "order").filter(pl.col("venue_id").is_in(list(new)))
    assert orders.height > 0
    for venue_id, ts in orders.select("venue_id", "ts").iter_rows():
        opened = new[venue_id]
        assert opened is not None
        assert ts.date() >= opened


def test_loyal_customers_concentrate_on_few_venues(moderate: SimulationResult) -> None:
    per_user = (
        of_type(moderate, "order")
        .group_by("user_id")
        .agg(pl.len().alias("orders"), pl.col("venue_id").n_unique().alias("venues"))
    )
    frequent = per_user.filter(pl.col("orders") >= 8)
    assert frequent.height > 20
    assert (frequent["venues"] / frequent["orders"]).mean() < 0.6  # type: ignore[operator]
