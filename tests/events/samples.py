"""Test data for the event codec and log: one event of every shape, and synthetic tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa

from palate.domain.events import (
    AddToCart,
    Click,
    EntityKind,
    Event,
    Impression,
    Order,
    OrderLine,
    Premise,
)
from palate.domain.geo import Location

EPOCH_2024 = datetime(2024, 5, 1, tzinfo=UTC)
HELSINKI_SUMMER = timezone(timedelta(hours=3))


def sample_events() -> list[Event]:
    """Every event type, with and without the optional parts, spread over three UTC days."""
    here = Location(60.1699, 24.9384)
    return [
        Impression(
            event_id="imp-1",
            user_id="u1",
            ts=datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=UTC),
            location=here,
            request_id="r1",
            premise=Premise.DISCOVERY,
            entity_kind=EntityKind.VENUE,
            entity_id="v1",
            position=0,
            section="popular",
        ),
        Impression(
            event_id="imp-2",
            user_id="u1",
            ts=datetime(2024, 5, 1, 9, 30, 15, 123457, tzinfo=UTC),
            request_id="r1",
            premise=Premise.VENUE,
            entity_kind=EntityKind.ITEM,
            entity_id="i9",
            position=7,
        ),
        Click(
            event_id="clk-1",
            user_id="u1",
            # 01:10 in Helsinki on May 2nd is still May 1st in UTC.
            ts=datetime(2024, 5, 2, 1, 10, tzinfo=HELSINKI_SUMMER),
            location=here,
            entity_kind=EntityKind.VENUE,
            entity_id="v1",
            request_id="r1",
            premise=Premise.DISCOVERY,
        ),
        Click(
            event_id="clk-2",
            user_id="u2",
            ts=datetime(2024, 5, 2, 8, tzinfo=UTC),
            entity_kind=EntityKind.BANNER,
            entity_id="b3",
        ),
        AddToCart(
            event_id="atc-1",
            user_id="u1",
            ts=datetime(2024, 5, 2, 8, 5, tzinfo=UTC),
            location=Location(-33.9, 151.2),
            venue_id="v1",
            item_id="i9",
            quantity=3,
            request_id="r1",
        ),
        AddToCart(
            event_id="atc-2",
            user_id="u2",
            ts=datetime(2024, 5, 2, 8, 6, tzinfo=UTC),
            venue_id="v2",
            item_id="i1",
        ),
        Order(
            event_id="ord-1",
            user_id="u1",
            ts=datetime(2024, 5, 3, 23, 59, 59, 999999, tzinfo=UTC),
            location=here,
            order_id="o1",
            venue_id="v1",
            lines=(OrderLine("i9", 3, 4.5), OrderLine("i2", 1, 12.25)),
            total=25.75,
            request_id="r1",
        ),
        Order(
            event_id="ord-2",
            user_id="u2",
            ts=datetime(2024, 5, 3, tzinfo=UTC),
            order_id="o2",
            venue_id="v2",
            lines=(),
            total=0.0,
        ),
    ]


def synthetic_table(
    n: int, days: int, *, seed: int = 0, start: datetime = EPOCH_2024, sort: bool = False
) -> pa.Table:
    """``n`` impression/click/cart/order rows with uniform random ts over ``days`` UTC days."""
    rng = np.random.default_rng(seed)
    origin = int(start.timestamp()) * 1_000_000
    micros = origin + rng.integers(0, days * 86_400_000_000, n)
    if sort:
        micros.sort()
    kinds = pa.array(["impression", "click", "add_to_cart", "order"])
    users = pa.array([f"u{i}" for i in range(1000)])
    return pa.table(
        {
            "event_id": pa.array(np.arange(n)).cast(pa.string()),
            "type": kinds.take(rng.choice(4, n, p=[0.85, 0.1, 0.04, 0.01])),
            "user_id": users.take(rng.integers(0, len(users), n)),
            "ts": pa.array(micros, pa.timestamp("us", tz="UTC")),
            "lat": rng.uniform(60.0, 60.3, n),
            "lon": rng.uniform(24.7, 25.1, n),
            "position": rng.integers(0, 20, n).astype(np.int32),
        }
    )
