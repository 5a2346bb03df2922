"""Graded relevance labels: impressions joined to what followed them, by request id.

An order from the shown venue is worth more than an add-to-cart, which is worth more than a
click, which is worth more than being shown (order 3 > add to cart 2 > click 1 > shown 0).
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

SHOWN, CLICKED, CARTED, ORDERED = 0, 1, 2, 3


def labelled_impressions(events: pa.Table, premise: str = "discovery") -> pl.DataFrame:
    """One row per venue impression of ``premise`` with its graded ``label``.

    Columns: request_id, user_id, ts, lat, lon, venue_id, position, label. Rows are sorted by
    (ts, request_id, position); every request keeps all the venues it showed.
    """
    frame = pl.from_arrow(
        events.select(
            [
                "type",
                "request_id",
                "user_id",
                "ts",
                "lat",
                "lon",
                "premise",
                "entity_kind",
                "entity_id",
                "venue_id",
                "position",
            ]
        )
    )
    assert isinstance(frame, pl.DataFrame)  # noqa: S101 - from_arrow of a Table is a frame
    shown = frame.filter(
        (pl.col("type") == "impression")
        & (pl.col("premise") == premise)
        & (pl.col("entity_kind") == "venue")
    ).select("request_id", "user_id", "ts", "lat", "lon", "venue_id", "position")
    outcomes = _outcomes(frame)
    return (
        shown.join(outcomes, on=["request_id", "venue_id"], how="left")
        .with_columns(pl.col("label").fill_null(SHOWN).cast(pl.Int8))
        .unique(subset=["request_id", "venue_id"], keep="first", maintain_order=True)
        .sort("ts", "request_id", "position")
    )


def _outcomes(frame: pl.DataFrame) -> pl.DataFrame:
    """The best outcome per (request, venue) among clicks, add-to-carts and orders."""
    grade = (
        pl.when(pl.col("type") == "order")
        .then(ORDERED)
        .when(pl.col("type") == "add_to_cart")
        .then(CARTED)
        .otherwise(CLICKED)
    )
    followed = frame.filter(
        pl.col("request_id").is_not_null()
        & pl.col("type").is_in(["click", "add_to_cart", "order"])
        & ((pl.col("type") != "click") | (pl.col("entity_kind") == "venue"))
    ).with_columns(pl.coalesce("venue_id", "entity_id").alias("venue_id"), grade.alias("label"))
    return followed.group_by("request_id", "venue_id").agg(pl.col("label").max())
