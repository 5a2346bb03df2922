"""The summary counts what the event log holds and reports it readably."""

from __future__ import annotations

import polars as pl

from palate.simulate import SimulationResult, summarize
from tests.simulate.runs import frame, local_hours, of_type


def test_summary_counts_match_the_event_log(small: SimulationResult) -> None:
    summary = summarize(small)
    counts = dict(frame(small).group_by("type").len().iter_rows())
    assert summary.impressions == counts["impression"]
    assert summary.clicks == counts["click"]
    assert summary.add_to_carts == counts["add_to_cart"]
    assert summary.orders == counts["order"] == sum(summary.orders_by_hour)
    assert summary.customers == small.config.customers
    assert 0 < summary.buyers <= summary.customers
    assert summary.sessions == of_type(small, "impression")["request_id"].n_unique()
    hours = local_hours(small, of_type(small, "order"))["hour"].value_counts()
    assert dict(hours.iter_rows()) == {h: c for h, c in enumerate(summary.orders_by_hour) if c}


def test_repeat_share_counts_orders_at_venues_ordered_from_before(small: SimulationResult) -> None:
    orders = of_type(small, "order").sort("ts")
    seen: set[tuple[str, str]] = set()
    repeats = 0
    for user, venue in orders.select("user_id", "venue_id").iter_rows():
        repeats += (user, venue) in seen
        seen.add((user, venue))
    assert summarize(small).repeat_share == repeats / orders.height


def test_format_reports_figures_and_an_hourly_bar_chart(small: SimulationResult) -> None:
    summary = summarize(small)
    text = summary.format()
    assert f"{summary.orders:,}" in text
    assert "repeat share" in text
    rows = [line for line in text.splitlines() if line[:5].strip().isdigit()]
    assert [int(r.split()[0]) for r in rows] == list(range(24))
    peak = max(range(24), key=lambda h: summary.orders_by_hour[h])
    assert rows[peak].count("#") == 40
    assert pl.Series(summary.orders_by_hour).sum() == summary.orders
