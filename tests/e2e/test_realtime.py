"""Behaviour moves the ranking within a second: orders through /v1/events, pauses via catalog."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from palate.catalog.store import load_catalog
from tests.servers import palate_server

pytestmark = pytest.mark.e2e

WHEN = "2026-09-18T17:30:00Z"
TOKEN = "realtime-token"  # noqa: S105 - a test secret


def _ranked(client: httpx.Client, user_id: str, lat: float, lon: float) -> list[str]:
    body = {"user_id": user_id, "location": {"lat": lat, "lon": lon}, "time": WHEN, "limit": 500}
    return [v["venue_id"] for v in client.post("/v1/discovery", json=body).json()["venues"]]


def _within(seconds: float, condition: Callable[[], bool]) -> float:
    """Seconds until ``condition`` held; fails if it did not within ``seconds``."""
    started = time.perf_counter()
    while not condition():
        assert time.perf_counter() - started < seconds, "not visible in time"
        time.sleep(0.01)
    return time.perf_counter() - started


def _order(venue_id: str, item_id: str, price: float, n: int) -> dict[str, object]:
    return {
        "type": "order",
        "event_id": f"rt-order-{n}",
        "user_id": "rt-user",
        "ts": f"2026-09-18T1{n}:00:00Z",
        "order_id": f"rt-o{n}",
        "venue_id": venue_id,
        "lines": [{"item_id": item_id, "quantity": 1, "unit_price": price}],
        "total": price,
    }


def test_an_order_lifts_the_venue_and_a_pause_removes_it_within_a_second(
    simulated_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(simulated_dir, data)
    catalog = load_catalog(data / "catalog")
    centre = next(iter(catalog.cities.values())).center
    env = {"PALATE_ADMIN_TOKEN": TOKEN}
    with palate_server(data, tmp_path, env=env) as server, server.client() as client:
        before = _ranked(client, "rt-user", centre.lat, centre.lon)
        venue_id = before[len(before) // 2]
        item = catalog.items_of(venue_id)[0]
        events = [_order(venue_id, item.id, item.price, n) for n in range(2)]
        reply = client.post("/v1/events", json={"events": events})
        assert reply.json()["accepted"] == 2

        def lifted() -> bool:
            return _ranked(client, "rt-user", centre.lat, centre.lon).index(
                venue_id
            ) < before.index(venue_id)

        assert _within(1.0, lifted) < 1.0
        headers = {"authorization": f"Bearer {TOKEN}"}
        patch = client.patch(
            f"/v1/catalog/venues/{venue_id}", json={"status": "paused"}, headers=headers
        )
        assert patch.status_code == 200
        assert (
            _within(1.0, lambda: venue_id not in _ranked(client, "rt-user", centre.lat, centre.lon))
            < 1.0
        )
