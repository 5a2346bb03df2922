"""The catalog API over HTTP: every change shows in the next ranking and survives a restart."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from palate.catalog.store import load_catalog
from palate.domain import Location
from tests.servers import RunningServer, palate_server

pytestmark = pytest.mark.integration

TOKEN = "test-admin-token"  # noqa: S105 - a test secret
AUTH = {"authorization": f"Bearer {TOKEN}"}
WHEN = "2026-09-18T17:30:00Z"
ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture(scope="module")
def data_dir(simulated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("catalog-api") / "data"
    shutil.copytree(simulated_dir, copy)
    return copy


@pytest.fixture(scope="module")
def centre(data_dir: Path) -> Location:
    return next(iter(load_catalog(data_dir / "catalog").cities.values())).center


@pytest.fixture(scope="module")
def api(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {"PALATE_ADMIN_TOKEN": TOKEN}
    with palate_server(data_dir, tmp_path_factory.mktemp("logs"), env=env) as server:
        yield server


def _venue(venue_id: str, where: Location) -> dict[str, object]:
    return {
        "id": venue_id,
        "name": "Test Kitchen",
        "city_id": "hel",
        "location": {"lat": where.lat, "lon": where.lon},
        "delivery_radius_m": 2000,
        "opening_hours": ALWAYS,
        "cuisines": ["pizza"],
        "rating": 4.9,
        "rating_count": 500,
        "prep_time_min": 5,
    }


def _ranked(client: httpx.Client, where: Location) -> list[str]:
    body = {
        "user_id": "u1",
        "location": {"lat": where.lat, "lon": where.lon},
        "time": WHEN,
        "limit": 500,
    }
    reply = client.post("/v1/discovery", json=body)
    assert reply.status_code == 200, reply.text
    return [v["venue_id"] for v in reply.json()["venues"]]


def test_writes_need_the_admin_token(api: RunningServer, centre: Location) -> None:
    with api.client() as client:
        reply = client.put("/v1/catalog/venues", json={"venues": [_venue("v-x", centre)]})
        assert reply.status_code == 401
        wrong = {"authorization": "Bearer nope"}
        assert client.patch("/v1/catalog/venues/v1", json={}, headers=wrong).status_code == 401


def test_new_venue_pause_resume_and_closure_show_in_the_next_ranking(
    api: RunningServer, centre: Location
) -> None:
    with api.client() as client:
        assert "v-new" not in _ranked(client, centre)
        reply = client.put(
            "/v1/catalog/venues", json={"venues": [_venue("v-new", centre)]}, headers=AUTH
        )
        assert reply.json() == {"upserted": 1}
        assert "v-new" in _ranked(client, centre)

        client.patch("/v1/catalog/venues/v-new", json={"status": "paused"}, headers=AUTH)
        assert "v-new" not in _ranked(client, centre)
        client.patch("/v1/catalog/venues/v-new", json={"status": "online"}, headers=AUTH)
        assert "v-new" in _ranked(client, centre)

        closed = {"closed_until": "2026-09-18T18:00:00Z"}
        client.patch("/v1/catalog/venues/v-new", json=closed, headers=AUTH)
        assert "v-new" not in _ranked(client, centre)  # 17:30 is before the end of the closure
        client.patch("/v1/catalog/venues/v-new", json={"closed_until": None}, headers=AUTH)
        assert "v-new" in _ranked(client, centre)


def test_item_upsert_and_availability(api: RunningServer, centre: Location) -> None:
    with api.client() as client:
        client.put("/v1/catalog/venues", json={"venues": [_venue("v-items", centre)]}, headers=AUTH)
        item = {
            "id": "i-x",
            "venue_id": "v-items",
            "name": "Margherita",
            "category": "mains",
            "price": 11.5,
            "tags": ["vegetarian"],
        }
        assert (
            client.put("/v1/catalog/items", json={"items": [item]}, headers=AUTH).status_code == 200
        )
        reply = client.patch("/v1/catalog/items/i-x", json={"available": False}, headers=AUTH)
        assert reply.json() == {"item_id": "i-x", "available": False}
        orphan = {**item, "id": "i-y", "venue_id": "v-nowhere"}
        reply = client.put("/v1/catalog/items", json={"items": [orphan]}, headers=AUTH)
        assert reply.status_code == 422
        assert "v-nowhere" in reply.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"opening_hours": {"mon": [["25:00", "26:00"]]}}, "venues[0].opening_hours"),
        ({"price_level": 9}, "venues[0].price_level"),
        ({"location": {"lat": 91, "lon": 0}}, "venues[0].location.lat"),
        ({"colour": "red"}, "venues[0].colour"),
    ],
)
def test_invalid_venues_are_422_naming_the_field(
    api: RunningServer, centre: Location, change: dict[str, object], field: str
) -> None:
    venue = {**_venue("v-bad", centre), **change}
    with api.client() as client:
        reply = client.put("/v1/catalog/venues", json={"venues": [venue]}, headers=AUTH)
    assert reply.status_code == 422
    assert field in [problem["field"] for problem in reply.json()["fields"]]


def test_unknown_ids_are_404(api: RunningServer) -> None:
    with api.client() as client:
        assert (
            client.patch(
                "/v1/catalog/venues/nope", json={"status": "paused"}, headers=AUTH
            ).status_code
            == 404
        )
        assert (
            client.patch(
                "/v1/catalog/items/nope", json={"available": True}, headers=AUTH
            ).status_code
            == 404
        )


def test_changes_survive_a_restart(data_dir: Path, centre: Location, tmp_path: Path) -> None:
    env = {"PALATE_ADMIN_TOKEN": TOKEN}
    with palate_server(data_dir, tmp_path, env=env) as server, server.client() as client:
        client.put(
            "/v1/catalog/venues", json={"venues": [_venue("v-durable", centre)]}, headers=AUTH
        )
        client.patch("/v1/catalog/venues/v-durable", json={"status": "busy"}, headers=AUTH)
        server.process.kill()  # no graceful shutdown: only the changelog has it
        server.process.wait()
    with palate_server(data_dir, tmp_path, env=env) as server, server.client() as client:
        assert "v-durable" in _ranked(client, centre)
    assert load_catalog(data_dir / "catalog").venues["v-durable"].status.value == "busy"
