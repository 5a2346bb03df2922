"""The naive reference service ranks what Palate's Discovery ranks, with the same model scores.

Both run for real over one small simulated city with a promoted ranker: the naive service
(``benchmarks/naive_service``) after its loader filled a real Redis, Palate as ``palate
serve`` with native LightGBM (no compiled trees), so the scores must agree to 1e-5. The
naive service's Redis keys are gone afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from benchmarks.naive_service.app import user_key

from palate.bench.naive import checkout_root, naive_server
from palate.bench.scenarios import USERS, WHEN
from palate.catalog.store import load_catalog
from palate.settings import Settings
from palate.training.venue_ranker.commands import ensure_demo_model
from tests.ingest.conftest import REDIS_URL, copy_city
from tests.servers import RunningServer, palate_server

pytestmark = pytest.mark.integration

TOP_K = 200  # Palate's default: its first TOP_K venues carry model scores


@pytest.fixture(scope="module")
def data_dir(simulated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_city(simulated_dir, tmp_path_factory.mktemp("naive") / "data")
    ensure_demo_model(Settings(data={"dir": root}))
    return root


@pytest.fixture(scope="module")
def palate(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {"PALATE_RANKER__COMPILED": "false", "PALATE_REDIS__URL": ""}
    with palate_server(data_dir, tmp_path_factory.mktemp("logs"), env=env) as server:
        yield server


def _discovery(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{base_url}/v1/discovery", json=body, timeout=30.0)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_the_naive_service_ranks_palates_candidates_with_palates_scores(
    data_dir: Path, palate: RunningServer
) -> None:
    assert checkout_root() is not None
    catalog = load_catalog(data_dir / "catalog")
    centre = next(iter(catalog.cities.values())).center
    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"test-naive-{uuid.uuid4().hex[:12]}"
    with naive_server(data_dir, REDIS_URL, prefix=prefix) as naive:
        naive_url = f"http://{naive.host}:{naive.port}"
        written = sum(1 for _ in client.scan_iter(match=f"{prefix}:*", count=1_000))
        assert written > len(catalog.venues)  # every venue's hash, the customers', the id set
        pool = sorted(catalog.customers)[:USERS]  # the customers the loader personalised
        regular = max(pool, key=lambda user: client.hlen(user_key(prefix, user)))
        assert client.hlen(user_key(prefix, regular)) > 3, "a customer with personal columns"
        for user in (regular, "a-stranger"):
            where = {"lat": centre.lat, "lon": centre.lon}
            body = {"user_id": user, "location": where, "time": WHEN, "limit": 500}
            ours = _discovery(palate.base_url, body | {"trace": True})
            theirs = _discovery(naive_url, body)
            deliverable = next(s for s in ours["trace"] if s["stage"] == "deliverable_venues")
            assert 20 < deliverable["out"] < 500, "every candidate must fit in one answer"
            assert ours["scorer"] == "learned"
            assert len(ours["venues"]) == deliverable["out"] == theirs["candidates"]
            naive_scores = {v["venue_id"]: v["score"] for v in theirs["venues"]}
            assert {v["venue_id"] for v in ours["venues"]} == set(naive_scores)
            for venue in ours["venues"][:TOP_K]:
                assert venue["score"] == pytest.approx(naive_scores[venue["venue_id"]], abs=1e-5)
            assert len({v["score"] for v in ours["venues"][:TOP_K]}) > 1
    assert not list(client.scan_iter(match=f"{prefix}:*", count=1_000)), "keys left behind"
