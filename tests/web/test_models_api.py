"""``/v1/admin/models``: list, promote (with the registry's checks) and roll back over HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from palate.catalog.store import load_catalog
from palate.ranking.model_store import FileModelStore
from palate.serving.app import create_app
from palate.serving.state import build_state
from palate.settings import Settings

TOKEN = "models-test-token"  # noqa: S105 - a test-only token
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NAME = "venue_ranker"
WINDOW = (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 8, tzinfo=UTC))


def register(store: FileModelStore, features: str, ndcg: float) -> str:
    """A registered version whose model text names ``features`` (never loaded: no lifespan)."""
    version = store.register(
        NAME,
        f"tree\nversion=v4\nfeature_names={features}\n",
        features=features.split(),
        training_window=WINDOW,
        data_hash="test",
        metrics={"ndcg@10": ndcg},
        params={},
        precompile=False,
    )
    return version.version


class InProcess:
    """Synchronous calls into the ASGI app, without its lifespan (no model watcher)."""

    def __init__(self, app: FastAPI) -> None:
        self.transport = httpx.ASGITransport(app=app)

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, base_url="http://t") as c:
                return await c.request(method, url, **options)

        return asyncio.run(go())

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)


@pytest.fixture
def client(simulated_dir: Path, tmp_path: Path) -> InProcess:
    """The app without its lifespan, so no watcher tries to load the fake models."""
    settings = Settings(data={"dir": tmp_path}, admin_token=TOKEN)
    state = build_state(load_catalog(simulated_dir / "catalog"), settings)
    return InProcess(create_app(settings, state))


def promote(client: InProcess, version: str) -> httpx.Response:
    return client.post(f"/v1/admin/models/{NAME}/promote", json={"version": version}, headers=AUTH)


def test_admin_token_is_required(client: InProcess) -> None:
    assert client.get(f"/v1/admin/models/{NAME}").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post(f"/v1/admin/models/{NAME}/rollback", headers=wrong).status_code == 401


def test_promote_and_roll_back(client: InProcess, tmp_path: Path) -> None:
    store = FileModelStore.in_data_dir(tmp_path)
    first = register(store, "distance_m rating", 0.30)
    second = register(store, "distance_m rating cv_orders", 0.32)
    worse = register(store, "distance_m rating", 0.10)
    listed = client.get(f"/v1/admin/models/{NAME}", headers=AUTH).json()
    assert [v["version"] for v in listed["versions"]] == [first, second, worse]
    assert listed["current"] is None

    for version in (first, second):
        reply = client.post(
            f"/v1/admin/models/{NAME}/promote", json={"version": version}, headers=AUTH
        )
        assert reply.status_code == 200
        assert reply.json()["current"] == version
    refused = promote(client, worse)
    assert refused.status_code == 409
    assert "ndcg@10" in refused.text
    assert store.promotions(NAME).current == second

    back = client.post(f"/v1/admin/models/{NAME}/rollback", headers=AUTH)
    assert back.json()["current"] == first
    assert client.post(f"/v1/admin/models/{NAME}/rollback", headers=AUTH).status_code == 409


def test_unknown_version_and_bad_name(client: InProcess) -> None:
    missing = client.post(
        f"/v1/admin/models/{NAME}/promote", json={"version": "v0042"}, headers=AUTH
    )
    assert missing.status_code == 404
    assert client.get("/v1/admin/models/bad%20name", headers=AUTH).status_code == 422


def test_insights_lists_the_registry(client: InProcess, tmp_path: Path) -> None:
    store = FileModelStore.in_data_dir(tmp_path)
    version = register(store, "distance_m rating", 0.25)
    store.promote(NAME, version, serving_features=("distance_m", "rating"))
    page = client.get("/ui/insights")
    assert page.status_code == 200
    assert f'{version} <span class="badge">serving</span>' in page.text
