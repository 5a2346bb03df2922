"""``"explain": true`` against a real server: the heuristic without a model, then a trained one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from palate.catalog.store import load_catalog
from palate.ranking.model_store import FileModelStore
from tests.servers import palate_server

pytestmark = pytest.mark.e2e

ENV = {"PALATE_RANKER__COMPILED": "false"}
# Scores and contributions are rounded to 6 decimals in the response.
ROUNDING = 5e-7


def _palate(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "palate", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("explain") / "data"
    _palate("simulate", "--data", str(data), "--customers", "600", "--days", "14", "--seed", "5")
    return data


def _body(data: Path, **extra: object) -> dict[str, Any]:
    centre = next(iter(load_catalog(data / "catalog").cities.values())).center
    return {
        "user_id": "u3",
        "location": {"lat": centre.lat, "lon": centre.lon},
        "time": "2026-09-18T17:30:00Z",
        "limit": 15,
        **extra,
    }


def _assert_adds_up(venue: dict[str, Any], n_terms: int) -> None:
    explanation = venue["explanation"]
    total = explanation["base"] + sum(explanation["contributions"].values())
    assert abs(total - venue["score"]) <= ROUNDING * (n_terms + 2)


def test_heuristic_explanations_add_up_and_cost_nothing_unasked(
    data_dir: Path, tmp_path: Path
) -> None:
    with palate_server(data_dir, tmp_path, env=ENV) as server, server.client() as client:
        plain = client.post("/v1/discovery", json=_body(data_dir)).json()
        reply = client.post("/v1/discovery", json=_body(data_dir, explain=True)).json()
    assert reply["scorer"] == "heuristic"
    assert all("explanation" not in venue for venue in plain["venues"])
    assert [v["venue_id"] for v in reply["venues"]] == [v["venue_id"] for v in plain["venues"]]
    assert len(reply["venues"]) == 15
    for venue in reply["venues"]:
        assert set(venue["explanation"]["contributions"]) == {
            "eta",
            "rating",
            "popularity",
            "habit",
        }
        assert venue["explanation"]["scorer"] == "heuristic"
        assert venue["explanation"]["rules"] == []
        _assert_adds_up(venue, 4)


def test_learned_explanations_are_tree_contributions(data_dir: Path, tmp_path: Path) -> None:
    _palate("train", "--data", str(data_dir), "--promote", "--trees", "30", "--step-minutes", "180")
    current = FileModelStore.in_data_dir(data_dir).current("venue_ranker")
    assert current is not None
    with palate_server(data_dir, tmp_path, env=ENV) as server, server.client() as client:
        reply = client.post("/v1/discovery", json=_body(data_dir, explain=True)).json()
    assert reply["scorer"] == "learned"
    assert reply["model_version"] == current.version
    contributions = [v["explanation"]["contributions"] for v in reply["venues"]]
    assert all(set(c) == set(current.features) for c in contributions)
    assert any(value != 0 for c in contributions for value in c.values())
    for venue in reply["venues"]:
        _assert_adds_up(venue, len(current.features))
