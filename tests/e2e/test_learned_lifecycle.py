"""simulate → train → promote → serve: Discovery is answered by the promoted model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from palate.catalog.store import load_catalog
from palate.ranking.model_store import FileModelStore
from tests.servers import palate_server

pytestmark = pytest.mark.e2e


def _palate(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "palate", *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def test_the_promoted_model_serves_discovery(
    tmp_path: Path,
) -> None:
    data = str(tmp_path / "data")
    _palate("simulate", "--data", data, "--customers", "600", "--days", "14", "--seed", "5")
    _palate("train", "--data", data, "--promote", "--trees", "30", "--step-minutes", "180")
    current = FileModelStore.in_data_dir(Path(data)).current("venue_ranker")
    assert current is not None
    assert "ndcg@10" in current.metrics
    centre = next(iter(load_catalog(Path(data) / "catalog").cities.values())).center
    body = {
        "user_id": "u3",
        "location": {"lat": centre.lat, "lon": centre.lon},
        "time": "2026-09-18T17:30:00Z",
        "limit": 20,
    }
    env = {"PALATE_RANKER__COMPILED": "false"}
    with palate_server(Path(data), tmp_path, env=env) as server, server.client() as client:
        reply = client.post("/v1/discovery", json=body).json()
        assert reply["scorer"] == "learned"
        assert reply["model_version"] == current.version
        assert not reply["degraded"]
        assert client.get("/readyz").json()["model"] == current.version
