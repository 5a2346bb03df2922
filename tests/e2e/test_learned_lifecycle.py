"""simulate → replay → train → promote → serve: Discovery is answered by the promoted model.

The last test runs ``palate demo`` itself, which chains the real commands.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow.compute as pc
import pytest

from palate.catalog.store import load_catalog
from palate.events.log import EventLog
from palate.ranking.embedding_features import EMBEDDINGS_DIR
from palate.ranking.model_store import FileModelStore
from palate.serving.process import free_port
from palate.training.embeddings import Embeddings
from tests.servers import palate_server

pytestmark = pytest.mark.e2e
WHEN = "2026-09-18T17:30:00Z"


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
        "time": WHEN,
        "limit": 20,
    }
    env = {"PALATE_RANKER__COMPILED": "false"}
    with palate_server(Path(data), tmp_path, env=env) as server, server.client() as client:
        reply = client.post("/v1/discovery", json=body).json()
        assert reply["scorer"] == "learned"
        assert reply["model_version"] == current.version
        assert not reply["degraded"]
        assert client.get("/readyz").json()["model"] == current.version


def _wait_for_model(base_url: str, process: subprocess.Popen[bytes], log: Path) -> str:
    """The version ``palate demo`` serves once replay, training and promotion are done."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-4000:]
        try:
            model = httpx.get(f"{base_url}/readyz", timeout=1.0).json().get("model")
        except httpx.TransportError:
            model = None
        if model is not None:
            return str(model)
        time.sleep(0.5)
    raise AssertionError(log.read_text(errors="replace")[-4000:])


def _ordered_venues(events: EventLog, user_id: str) -> set[str]:
    table = events.read()
    mine = pc.and_(
        pc.equal(table.column("type"), "order"), pc.equal(table.column("user_id"), user_id)
    )
    return set(table.filter(mine).column("venue_id").to_pylist())


def test_palate_demo_replays_through_ingestion_trains_promotes_and_serves(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    env = {
        **os.environ,
        "PALATE_SERVER__PORT": str(port),
        "PALATE_SIMULATION__CUSTOMERS": "600",
        "PALATE_SIMULATION__DAYS": "14",
        "PALATE_SIMULATION__SEED": "5",
        "PALATE_RANKER__COMPILED": "false",
    }
    log = tmp_path / "demo.log"
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "palate", "demo", "--data", str(data)],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        version = _wait_for_model(base_url, process, log)
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            stats = client.get("/v1/events/stats").json()
            _check_serving(client, data, version)
    finally:
        process.terminate()
        process.wait(timeout=30)
    simulated = EventLog(data / "simulated" / "events").count()
    output = log.read_text(errors="replace")
    # Every simulated event went through POST /v1/events into the log the ranker trained on.
    assert f"replayed {simulated:,} events" in output
    assert f"{simulated:,} accepted" in output
    assert stats["accepted"] == simulated
    assert stats["rejected"] == 0
    assert EventLog(data / "events").count() == simulated
    assert (data / "wal").is_dir()
    current = FileModelStore.in_data_dir(data).current("venue_ranker")
    assert current is not None
    assert current.version == version
    assert (current.path / EMBEDDINGS_DIR / "item_embeddings.npz").is_file()
    assert process.returncode == 0  # SIGTERM shuts the server down cleanly


def _check_serving(client: httpx.Client, data: Path, version: str) -> None:
    """Discovery from the promoted model; "For you" by its embeddings; items with affinity."""
    catalog = load_catalog(data / "catalog")
    centre = next(iter(catalog.cities.values())).center
    current = FileModelStore.in_data_dir(data).current("venue_ranker")
    assert current is not None
    factors = Embeddings.load(current.path / EMBEDDINGS_DIR)
    user = str(factors.user_ids[0])
    body = {
        "user_id": user,
        "location": {"lat": centre.lat, "lon": centre.lon},
        "time": WHEN,
        "limit": 10,
    }
    reply = client.post("/v1/discovery", json=body).json()
    assert reply["scorer"] == "learned"
    assert reply["model_version"] == version
    sections = {
        s["name"]: s for s in client.post("/v1/discovery/sections", json=body).json()["sections"]
    }
    for_you = [v["venue_id"] for v in sections["for_you"]["venues"]]
    known = [v for v in for_you if factors.entity_positions([v])[0] >= 0]
    assert known
    assert not set(for_you) & _ordered_venues(EventLog(data / "events"), user)
    assert (np.diff(factors.scores(user, known)) <= 1e-6).all()  # nearest neighbours first
    items = Embeddings.load(current.path / EMBEDDINGS_DIR, kind="item")
    venue = next(iter(catalog.venues))
    item_body = {"user_id": str(items.user_ids[0]), "time": WHEN, "limit": 5, "explain": True}
    listed = client.post(f"/v1/venues/{venue}/items", json=item_body).json()["items"]
    assert listed
    assert all("embedding_affinity" in i["explanation"]["contributions"] for i in listed)
