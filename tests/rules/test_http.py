"""Rules and fallbacks over HTTP: a real server process for the admin API, in-process for
failures that cannot be provoked from outside."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from palate.catalog.store import load_catalog
from palate.domain import Location
from palate.pipeline import Candidates
from palate.pipeline.candidates import FloatArray
from palate.serving.app import create_app
from palate.serving.state import build_state
from palate.settings import Settings
from tests.servers import RunningServer, palate_server

TOKEN = "rules-admin-token"  # noqa: S105 - a test secret
AUTH = {"authorization": f"Bearer {TOKEN}"}
WHEN = "2026-09-18T17:30:00Z"


@pytest.fixture(scope="module")
def data_dir(simulated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("rules") / "data"
    shutil.copytree(simulated_dir, copy)
    return copy


@pytest.fixture(scope="module")
def centre(data_dir: Path) -> Location:
    return next(iter(load_catalog(data_dir / "catalog").cities.values())).center


def _start(data_dir: Path, logs: Path, **env: str) -> Iterator[RunningServer]:
    with palate_server(data_dir, logs, env={"PALATE_ADMIN_TOKEN": TOKEN, **env}) as server:
        yield server


def _body(where: Location) -> dict[str, object]:
    return {
        "user_id": "u1",
        "location": {"lat": where.lat, "lon": where.lon},
        "time": WHEN,
        "limit": 20,
        "trace": True,
    }


def _rank(client: httpx.Client, where: Location) -> dict[str, object]:
    reply = client.post("/v1/discovery", json=_body(where))
    assert reply.status_code == 200, reply.text
    payload: dict[str, object] = reply.json()
    return payload


def _ids(payload: dict[str, object]) -> list[str]:
    return [v["venue_id"] for v in payload["venues"]]  # type: ignore[attr-defined]


def test_admin_rules_change_the_next_ranking_and_survive_restart(
    data_dir: Path, centre: Location, tmp_path: Path
) -> None:
    server_gen = _start(data_dir, tmp_path)
    server = next(server_gen)
    with server.client() as client:
        assert client.get("/v1/admin/rules").status_code == 401
        bad = {"id": "x", "kind": "pin", "target": "v1", "slot": 0}
        assert client.put("/v1/admin/rules", json=bad).status_code == 401
        before = _ids(_rank(client, centre))
        last, tenth = before[-1], before[9]
        pin = {"id": "pin-last", "kind": "pin", "target": last, "slot": 0}
        ad = {"id": "ad", "kind": "sponsored", "target": tenth, "slot": 2}
        for rule in (pin, ad):
            assert client.put("/v1/admin/rules", json=rule, headers=AUTH).status_code == 200
        invalid = client.put("/v1/admin/rules", json={**pin, "slot": -1}, headers=AUTH)
        assert invalid.status_code == 422
        assert "slot" in invalid.text
        after = _rank(client, centre)
        venues = after["venues"]
        assert _ids(after)[0] == last
        assert venues[2] == {**venues[2], "venue_id": tenth, "sponsored": True}  # type: ignore[index]
        stages = {s["stage"]: s for s in after["trace"]}  # type: ignore[attr-defined]
        assert stages["pin"]["details"]["rules"] == ["pin-last"]
    next(server_gen, None)
    with (
        palate_server(data_dir, tmp_path, env={"PALATE_ADMIN_TOKEN": TOKEN}) as again,
        again.client() as client,
    ):
        assert _ids(_rank(client, centre))[0] == last
        listed = client.get("/v1/admin/rules", headers=AUTH).json()["rules"]
        assert sorted(r["id"] for r in listed) == ["ad", "pin-last"]
        assert client.delete("/v1/admin/rules/pin-last", headers=AUTH).status_code == 204
        assert client.delete("/v1/admin/rules/pin-last", headers=AUTH).status_code == 404
        assert _ids(_rank(client, centre))[0] == before[0]


def test_a_tiny_heuristic_budget_degrades_to_popularity(
    data_dir: Path, centre: Location, tmp_path: Path
) -> None:
    env = {"PALATE_ADMIN_TOKEN": TOKEN, "PALATE_BUDGETS__DISCOVERY__HEURISTIC_MS": "0.001"}
    with palate_server(data_dir, tmp_path, env=env) as server, server.client() as client:
        payload = _rank(client, centre)
        assert payload["degraded"] is True, (payload["scorer"], payload["trace"])
        assert payload["scorer"] == "popularity"
        metrics = client.get("/metrics").text
    reason = 'premise="discovery",reason="heuristic:BudgetExceededError"'
    assert f"palate_degraded_responses_total{{{reason}}}" in metrics


def test_tiny_item_scorer_budgets_degrade_in_venue_and_cart_to_popularity(
    data_dir: Path, tmp_path: Path
) -> None:
    catalog = load_catalog(data_dir / "catalog")
    venue = max(catalog.venues, key=lambda v: len(catalog.items_of(v)))
    line = catalog.items_of(venue)[0].id
    env = {
        "PALATE_ADMIN_TOKEN": TOKEN,
        "PALATE_BUDGETS__VENUE_ITEMS__SCORER_MS": "0.001",
        "PALATE_BUDGETS__CART__SCORER_MS": "0.001",
    }
    with palate_server(data_dir, tmp_path, env=env) as server, server.client() as client:
        menu = client.post(f"/v1/venues/{venue}/items", json={"user_id": "u1"}).json()
        cart_body = {"user_id": "u1", "venue_id": venue, "lines": [{"item_id": line}]}
        cart = client.post("/v1/cart/recommendations", json=cart_body).json()
        metrics = client.get("/metrics").text
    assert (menu["degraded"], menu["scorer"]) == (True, "item_popularity")
    assert (cart["degraded"], cart["scorer"]) == (True, "item_popularity")
    assert line not in [item["item_id"] for item in cart["items"]]  # the filters still held
    for premise, scorer in (("venue_items", "item_heuristic"), ("cart", "cart_heuristic")):
        reason = f'premise="{premise}",reason="{scorer}:BudgetExceededError"'
        assert f"palate_degraded_responses_total{{{reason}}}" in metrics


class Broken:
    def __init__(self, name: str) -> None:
        self.name = name

    def score(self, query: object, candidates: Candidates) -> FloatArray:
        raise RuntimeError("down")


class InProcess:
    """Synchronous calls into the ASGI app (no lifespan: nothing in the background)."""

    def __init__(self, app: object) -> None:
        self.transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]

    def _call(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, base_url="http://t") as c:
                return await c.request(method, url, **kwargs)  # type: ignore[arg-type]

        return asyncio.run(go())

    def post(self, url: str, json: object) -> httpx.Response:
        return self._call("POST", url, json=json)

    def get(self, url: str) -> httpx.Response:
        return self._call("GET", url)


# The app's JsonResponse warns under this FastAPI (served processes never see pytest's filter).
def test_every_scorer_failing_still_answers_200(data_dir: Path, centre: Location) -> None:
    settings = Settings(admin_token=TOKEN, data={"dir": data_dir})
    state = build_state(load_catalog(data_dir / "catalog"), settings)
    client = InProcess(create_app(settings, state))
    good = client.post("/v1/discovery", json=_body(centre)).json()
    assert not good["degraded"]
    scorers = [Broken(s.name) for s in state.discovery.scorers]
    state.discovery = replace(state.discovery, scorers=scorers)
    remembered = client.post("/v1/discovery", json=_body(centre))
    assert remembered.status_code == 200
    assert remembered.json()["scorer"] == "last_good"
    assert _ids(remembered.json()) == _ids(good)
    state.discovery = replace(state.discovery, last_good=None)
    proximity = client.post("/v1/discovery", json=_body(centre))
    assert proximity.status_code == 200
    assert proximity.json()["degraded"] is True
    assert proximity.json()["scorer"] == "proximity_fallback"
    assert len(proximity.json()["venues"]) == len(good["venues"])
    state.index = None  # type: ignore[assignment]  # even the fallback's lookup fails
    empty = client.post("/v1/discovery", json=_body(centre))
    assert empty.status_code == 200
    assert empty.json()["degraded"] is True
    metrics = client.get("/metrics").text
    assert 'premise="discovery",reason="last_good:StageError"' in metrics
    assert 'premise="discovery",reason="pipeline:StageError"' in metrics
