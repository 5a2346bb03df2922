"""Two server processes sharing Redis: behaviour and catalog changes made through one replica
show in the other's rankings within a second."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from palate.catalog.store import load_catalog
from tests.e2e.test_realtime import TOKEN, _order, _ranked, _within
from tests.servers import palate_server

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"test-replicas-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}:*", count=1000))
    if keys:
        client.delete(*keys)


def test_a_replica_sees_what_another_replica_ingested(
    simulated_dir: Path, tmp_path: Path, prefix: str
) -> None:
    data = tmp_path / "data"
    shutil.copytree(simulated_dir, data)
    catalog = load_catalog(data / "catalog")
    centre = next(iter(catalog.cities.values())).center
    env = {
        "PALATE_REDIS__URL": REDIS_URL,
        "PALATE_REDIS__KEY_PREFIX": prefix,
        "PALATE_ADMIN_TOKEN": TOKEN,
    }
    with (
        palate_server(data, tmp_path, env=env) as a,
        palate_server(data, tmp_path, env=env) as b,
        a.client() as client_a,
        b.client() as client_b,
    ):
        before = _ranked(client_b, "rt-user", centre.lat, centre.lon)
        venue_id = before[len(before) // 2]
        item = catalog.items_of(venue_id)[0]
        events = [_order(venue_id, item.id, item.price, n) for n in range(2)]
        assert client_a.post("/v1/events", json={"events": events}).json()["accepted"] == 2

        def lifted_on_b() -> bool:
            ranked = _ranked(client_b, "rt-user", centre.lat, centre.lon)
            return ranked.index(venue_id) < before.index(venue_id)

        assert _within(1.0, lifted_on_b) < 1.0
        headers = {"authorization": f"Bearer {TOKEN}"}
        reply = client_a.patch(
            f"/v1/catalog/venues/{venue_id}", json={"status": "paused"}, headers=headers
        )
        assert reply.status_code == 200

        def gone_on_b() -> bool:
            return venue_id not in _ranked(client_b, "rt-user", centre.lat, centre.lon)

        assert _within(1.0, gone_on_b) < 1.0
