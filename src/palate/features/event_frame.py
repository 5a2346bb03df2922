"""A batch of events as the polars frames the features' write paths start from.

Built once per batch from an Arrow table in :data:`palate.events.schema.EVENT_SCHEMA`; every
feature then selects and groups columnarly. Times are epoch seconds of the event (event time,
never arrival time), so a late event lands where it happened.
"""

from __future__ import annotations

from functools import cached_property

import polars as pl
import pyarrow as pa

from palate.domain.events import EntityKind, EventType
from palate.events.schema import conform
from palate.features.venue_attributes import VenueAttributes

COLUMNS = (
    "event_id",
    "type",
    "user_id",
    "ts",
    "entity_kind",
    "entity_id",
    "venue_id",
    "item_id",
    "quantity",
    "order_id",
    "total",
    "lines",
)


def local_hour_of_week(ts: pl.Expr, timezone: str) -> pl.Expr:
    """Hour of the week (Monday 00:00 = 0 … Sunday 23:00 = 167) of epoch seconds in ``timezone``."""
    local = pl.from_epoch((ts * 1e6).cast(pl.Int64), time_unit="us").dt.replace_time_zone("UTC")
    local = local.dt.convert_time_zone(timezone)
    return ((local.dt.weekday() - 1) * 24 + local.dt.hour()).cast(pl.Int64)


class EventFrame:
    """Views of one event batch, and the venue facts to read them with.

    Each view is computed on first use, so features that share one pay for it once.

    >>> from datetime import UTC, datetime
    >>> table = pa.table({"event_id": ["e1"], "type": ["order"], "user_id": ["u1"],
    ...                   "ts": [datetime(2024, 5, 1, tzinfo=UTC)], "venue_id": ["v1"],
    ...                   "order_id": ["o1"]})
    >>> EventFrame.from_arrow(table).orders.select("user_id", "venue_id", "ts").row(0)
    ('u1', 'v1', 1714521600.0)
    """

    def __init__(self, events: pl.DataFrame, attributes: VenueAttributes | None = None) -> None:
        self.events = events
        self.attributes = attributes or VenueAttributes.empty()

    @classmethod
    def from_arrow(cls, table: pa.Table, attributes: VenueAttributes | None = None) -> EventFrame:
        """Conform the table to the event schema and convert times to epoch seconds."""
        frame = pl.from_arrow(conform(table).select(list(COLUMNS)))
        assert isinstance(frame, pl.DataFrame)  # noqa: S101 - a Table always converts to a frame
        seconds = pl.col("ts").dt.epoch("us").cast(pl.Float64) / 1e6
        events = frame.lazy().with_columns(seconds.alias("ts")).filter(pl.col("ts").is_not_null())
        return cls(events.collect(), attributes)

    def __len__(self) -> int:
        return self.events.height

    @cached_property
    def types(self) -> frozenset[str]:
        """The event types in the batch: write paths skip their queries when theirs are absent
        (most batches are impressions only, and a query costs the same on an empty frame)."""
        return frozenset(self.events.get_column("type").unique().drop_nulls().to_list())

    @cached_property
    def orders(self) -> pl.DataFrame:
        """Orders with their customer and venue: user_id, venue_id, order_id, ts, total, lines."""
        columns = ("user_id", "venue_id", "order_id", "ts", "total", "lines")
        if EventType.ORDER.value not in self.types:
            return self.events.clear().select(columns)
        return (
            self.events.lazy()
            .filter(
                (pl.col("type") == EventType.ORDER.value)
                & pl.col("user_id").is_not_null()
                & pl.col("venue_id").is_not_null()
            )
            .select(columns)
            .collect()
        )

    @cached_property
    def order_lines(self) -> pl.DataFrame:
        """One row per order line: user_id, venue_id, order_id, ts, item_id, quantity."""
        if self.orders.is_empty():
            known = self.orders.select("user_id", "venue_id", "order_id", "ts").schema
            return pl.DataFrame(schema={**known, "item_id": pl.String, "quantity": pl.Float64})
        return (
            self.orders.lazy()
            .select("user_id", "venue_id", "order_id", "ts", "lines")
            .explode("lines")
            .unnest("lines")
            .filter(pl.col("item_id").is_not_null())
            .select(
                "user_id",
                "venue_id",
                "order_id",
                "ts",
                "item_id",
                pl.col("quantity").fill_null(1).clip(lower_bound=1).cast(pl.Float64),
            )
            .collect()
        )

    @cached_property
    def venue_funnel(self) -> pl.DataFrame:
        """Venue impressions, venue clicks and orders: user_id, venue_id, ts, stage (0, 1, 2)."""
        shown = pl.col("entity_kind") == EntityKind.VENUE.value
        kind = pl.col("type")
        stage = (
            pl.when(kind == EventType.IMPRESSION.value)
            .then(0)
            .when(kind == EventType.CLICK.value)
            .then(1)
            .otherwise(2)
        )
        return (
            self.events.lazy()
            .filter(
                pl.col("venue_id").is_not_null()
                & (
                    ((kind == EventType.IMPRESSION.value) & shown)
                    | ((kind == EventType.CLICK.value) & shown)
                    | ((kind == EventType.ORDER.value) & pl.col("user_id").is_not_null())
                )
            )
            .select("user_id", "venue_id", "ts", stage.alias("stage"))
            .collect()
        )
