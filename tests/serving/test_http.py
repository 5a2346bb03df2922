"""Discovery and the operational endpoints, over HTTP against a real server process."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from palate.catalog.store import load_catalog
from palate.domain import Catalog, Location, Venue
from tests.servers import RunningServer

pytestmark = pytest.mark.integration

FRIDAY_EVENING = "2026-09-18T17:30:00Z"


@pytest.fixture(scope="module")
def catalog(simulated_dir: Path) -> Catalog:
    return load_catalog(simulated_dir / "catalog")


def _centre(catalog: Catalog) -> Location:
    return next(iter(catalog.cities.values())).center


def _open_and_delivering(catalog: Catalog, venue: Venue, where: Location, when: datetime) -> bool:
    local = when.astimezone(ZoneInfo(catalog.timezone_of(venue)))
    minute = local.weekday() * 1440 + local.hour * 60 + local.minute
    return (
        venue.takes_orders and venue.delivers_to(where) and venue.opening_hours.is_open_at(minute)
    )


def test_discovery_returns_only_deliverable_open_venues(
    server: RunningServer, catalog: Catalog
) -> None:
    where = _centre(catalog)
    body = {
        "user_id": "u1",
        "location": {"lat": where.lat, "lon": where.lon},
        "time": FRIDAY_EVENING,
        "limit": 500,
    }
    with server.client() as client:
        reply = client.post("/v1/discovery", json=body)
    assert reply.status_code == 200, reply.text
    payload = reply.json()
    assert payload["request_id"] == reply.headers["x-request-id"]
    served = [v["venue_id"] for v in payload["venues"]]
    assert served, "the city centre on a Friday evening has open venues"
    when = datetime.fromisoformat(FRIDAY_EVENING)
    expected = {
        v.id for v in catalog.venues.values() if _open_and_delivering(catalog, v, where, when)
    }
    assert set(served) == expected
    scores = [v["score"] for v in payload["venues"]]
    assert scores == sorted(scores, reverse=True)


def test_limit_truncates(server: RunningServer, catalog: Catalog) -> None:
    where = _centre(catalog)
    body = {
        "user_id": "u1",
        "location": {"lat": where.lat, "lon": where.lon},
        "time": FRIDAY_EVENING,
        "limit": 3,
    }
    with server.client() as client:
        assert len(client.post("/v1/discovery", json=body).json()["venues"]) == 3


def test_outside_every_delivery_area_is_an_empty_list(server: RunningServer) -> None:
    body = {"user_id": "u1", "location": {"lat": -45.0, "lon": 170.0}, "time": FRIDAY_EVENING}
    with server.client() as client:
        reply = client.post("/v1/discovery", json=body)
    assert reply.status_code == 200
    assert reply.json()["venues"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": "u1"}, "location"),
        ({"user_id": "u1", "location": {"lat": 123, "lon": 24.9}}, "location.lat"),
        ({"user_id": "u1", "location": {"lat": 60.1, "lon": 24.9}, "limit": -1}, "limit"),
        ({"user_id": "u1", "location": {"lat": 60.1, "lon": 24.9}, "limit": 100000}, "limit"),
        ({"user_id": "", "location": {"lat": 60.1, "lon": 24.9}}, "user_id"),
        ({"user_id": "u1", "location": {"lat": 60.1, "lon": 24.9}, "time": "soon"}, "time"),
    ],
)
def test_malformed_input_is_422_naming_the_field(
    server: RunningServer, body: dict[str, object], field: str
) -> None:
    with server.client() as client:
        reply = client.post("/v1/discovery", json=body)
    assert reply.status_code == 422
    assert field in [problem["field"] for problem in reply.json()["fields"]]
    assert field in reply.json()["error"]


def test_body_that_is_not_json_is_400(server: RunningServer) -> None:
    with server.client() as client:
        reply = client.post(
            "/v1/discovery", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert reply.status_code == 400


def test_trace_lists_every_stage(server: RunningServer, catalog: Catalog) -> None:
    where = _centre(catalog)
    body = {"user_id": "u1", "location": {"lat": where.lat, "lon": where.lon}, "trace": True}
    with server.client() as client:
        stages = client.post("/v1/discovery", json=body).json()["trace"]
    assert stages[6]["skipped"]  # no model promoted yet: the heuristic serves, not degraded
    assert [s["stage"] for s in stages] == [
        "deliverable_venues",
        "not_temporarily_closed",
        "exclude",
        "request_context",
        "online_features",
        "embedding_affinity",
        "learned",
        "heuristic",
        "new_venue_exploration",
        "boost",
        "pin",
        "sponsored",
        "diversity",
        "top_k",
    ]


def test_operational_endpoints(server: RunningServer) -> None:
    with server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready"
        assert ready["venues"] > 0
        client.post("/v1/discovery", json={"user_id": "u1", "location": {"lat": 1, "lon": 1}})
        metrics = client.get("/metrics").text
        spec = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    assert 'palate_request_duration_seconds_bucket{endpoint="/v1/discovery"' in metrics
    assert "/v1/discovery" in spec["paths"]
    assert "examples" in str(spec["paths"]["/v1/discovery"])


def test_logs_are_json_with_the_request_id(server: RunningServer) -> None:
    import orjson

    with server.client() as client:
        reply = client.post(
            "/v1/discovery",
            json={"user_id": "u1", "location": {"lat": 1, "lon": 1}},
            headers={"x-request-id": "trace-me-123"},
        )
    assert reply.headers["x-request-id"] == "trace-me-123"

    def logged() -> bool:
        lines = server.log_text().splitlines()
        records = [orjson.loads(line) for line in lines if line.startswith("{")]
        return any(record.get("request_id") == "trace-me-123" for record in records)

    # the access log line is written just after the response is sent
    deadline = time.monotonic() + 5
    while not logged() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert logged()
