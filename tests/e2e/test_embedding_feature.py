"""simulate → train → promote → serve: the promoted model's embeddings feed ``emb_score``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from palate.catalog.store import load_catalog
from palate.ranking.embedding_features import EMBEDDINGS_DIR
from palate.ranking.model_store import FileModelStore
from palate.training.embeddings import Embeddings
from tests.servers import palate_server

pytestmark = pytest.mark.e2e


def _palate(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "palate", *args], check=True, capture_output=True)


def test_learned_ranking_hydrates_the_embedding_affinity(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _palate("simulate", "--data", str(data), "--customers", "500", "--days", "10", "--seed", "3")
    _palate("train", "--data", str(data), "--promote", "--trees", "30", "--step-minutes", "180")
    current = FileModelStore.in_data_dir(data).current("venue_ranker")
    assert current is not None
    assert "emb_score" in current.features
    factors = Embeddings.load(current.path / EMBEDDINGS_DIR, kind="venue")
    centre = next(iter(load_catalog(data / "catalog").cities.values())).center
    env = {"PALATE_RANKER__COMPILED": "false"}
    with palate_server(data, tmp_path, env=env) as server, server.client() as client:
        for user in (str(factors.user_ids[0]), "never-seen-customer"):
            body = {
                "user_id": user,
                "location": {"lat": centre.lat, "lon": centre.lon},
                "time": "2026-09-18T17:30:00Z",
                "limit": 20,
                "trace": True,
            }
            reply = client.post("/v1/discovery", json=body).json()
            assert reply["scorer"] == "learned"
            assert reply["model_version"] == current.version
            assert not reply["degraded"]
            stages = {stage["stage"]: stage for stage in reply["trace"]}
            affinity = stages["embedding_affinity"]
            assert affinity.get("error") is None
            assert not affinity.get("skipped")
            assert affinity["kind"] == "hydrator"
            assert affinity["out"] == affinity["in"] > 0
