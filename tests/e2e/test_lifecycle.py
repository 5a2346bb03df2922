"""simulate → serve → rank: a customer's own orders lift that venue in their Discovery."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from palate.catalog.store import load_catalog
from palate.domain import Location, Order, OrderLine
from palate.events.codec import events_to_table
from palate.events.log import EventLog
from tests.servers import palate_server

pytestmark = pytest.mark.e2e

WHEN = "2026-09-18T17:30:00Z"


def _discovery(client: httpx.Client, user_id: str, where: Location) -> list[str]:
    body = {
        "user_id": user_id,
        "location": {"lat": where.lat, "lon": where.lon},
        "time": WHEN,
        "limit": 500,
    }
    reply = client.post("/v1/discovery", json=body)
    assert reply.status_code == 200, reply.text
    return [venue["venue_id"] for venue in reply.json()["venues"]]


def test_three_orders_from_a_venue_rank_it_higher(tmp_path: Path) -> None:
    data = tmp_path / "data"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "palate",
            "simulate",
            "--data",
            str(data),
            "--customers",
            "300",
            "--days",
            "7",
            "--seed",
            "3",
        ],
        check=True,
        capture_output=True,
    )
    catalog = load_catalog(data / "catalog")
    where = next(iter(catalog.cities.values())).center
    with palate_server(data, tmp_path) as server, server.client() as client:
        baseline = _discovery(client, "e2e-newcomer", where)
    assert len(baseline) >= 10
    venue = catalog.venues[baseline[len(baseline) // 2]]  # a mid-ranked venue has room to rise
    item = catalog.items_of(venue.id)[0]
    placed = datetime(2026, 9, 10, 18, 0, tzinfo=UTC)
    orders = [
        Order(
            event_id=f"e2e-o{i}",
            user_id="e2e-loyal",
            ts=placed + timedelta(days=i),
            location=where,
            order_id=f"e2e-order-{i}",
            venue_id=venue.id,
            lines=(OrderLine(item.id, 1, item.price),),
            total=item.price,
        )
        for i in range(3)
    ]
    EventLog(data / "events").append(events_to_table(orders))
    with palate_server(data, tmp_path) as server, server.client() as client:
        loyal = _discovery(client, "e2e-loyal", where)
        newcomer = _discovery(client, "e2e-newcomer", where)
    # the orders also make the venue more popular for everyone; the customer's own habit adds more
    assert loyal.index(venue.id) < newcomer.index(venue.id)
    assert loyal.index(venue.id) < 3
