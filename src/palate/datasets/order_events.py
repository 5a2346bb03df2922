"""Order and add-to-cart events built column-wise from one row per order line."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from palate.domain import EventType

REQUIRED_LINE_COLUMNS = (
    "order_id",
    "user_id",
    "venue_id",
    "ts",
    "item_id",
    "quantity",
    "unit_price",
    "seq",
)
_ORDER_COLUMNS = ("user_id", "venue_id", "ts")
LINE_DTYPE = pl.Struct({"item_id": pl.String, "quantity": pl.Int32, "unit_price": pl.Float64})
"""Polars twin of ``palate.events.schema.ORDER_LINE_TYPE``."""
_GEO_COLUMNS = ("lat", "lon")


def order_and_cart_events(
    lines: pl.DataFrame, *, source: str, cart_step: timedelta = timedelta(seconds=1)
) -> pl.DataFrame:
    """One ``order`` event per ``order_id`` plus one ``add_to_cart`` per line, as event columns.

    ``lines`` has one row per order line: ``order_id, user_id, venue_id, ts`` (the order's UTC
    time, equal on its lines), ``item_id, quantity, unit_price``, ``seq`` (cart position; ties
    keep frame order) and optionally ``lat, lon`` (where the customer ordered from). Cart
    events precede their order by ``cart_step`` per remaining position, so a replay sees the
    cart fill in ``seq`` order and then the checkout. Event ids are
    ``{source}:order:{order_id}`` and ``{source}:cart:{order_id}:{position}`` (0-based).
    """
    missing = [c for c in REQUIRED_LINE_COLUMNS if c not in lines.columns]
    if missing:
        raise ValueError(f"order lines lack columns {missing}")
    geo = [c for c in _GEO_COLUMNS if c in lines.columns]
    ordered = lines.sort("order_id", "seq", maintain_order=True).with_columns(
        pl.col("quantity").cast(pl.Int32),
        pl.col("unit_price").cast(pl.Float64),
        position=pl.int_range(pl.len()).over("order_id"),
        size=pl.len().over("order_id"),
    )
    return pl.concat(
        [_orders(ordered, source, geo), _carts(ordered, source, geo, cart_step)],
        how="diagonal_relaxed",
    )


def _orders(ordered: pl.DataFrame, source: str, geo: list[str]) -> pl.DataFrame:
    line = pl.struct(pl.col("item_id"), pl.col("quantity"), pl.col("unit_price"))
    return (
        ordered.group_by("order_id", maintain_order=True)
        .agg(
            pl.col(*_ORDER_COLUMNS, *geo).first(),
            line.alias("lines"),
            (pl.col("quantity") * pl.col("unit_price")).sum().alias("total"),
        )
        .with_columns(
            event_id=pl.concat_str(pl.lit(f"{source}:order:"), pl.col("order_id")),
            type=pl.lit(EventType.ORDER.value),
        )
    )


def _carts(ordered: pl.DataFrame, source: str, geo: list[str], step: timedelta) -> pl.DataFrame:
    step_us = int(step / timedelta(microseconds=1))
    ahead = (pl.col("size") - pl.col("position")).cast(pl.Int64) * step_us
    return ordered.select(
        *[pl.col(c) for c in geo],
        event_id=pl.concat_str(
            pl.lit(f"{source}:cart:"), pl.col("order_id"), pl.lit(":"), pl.col("position")
        ),
        type=pl.lit(EventType.ADD_TO_CART.value),
        user_id=pl.col("user_id"),
        ts=pl.col("ts") - pl.duration(microseconds=ahead),
        venue_id=pl.col("venue_id"),
        item_id=pl.col("item_id"),
        quantity=pl.col("quantity"),
    )
