"""``palate models list|show|promote|rollback`` over a registry in a data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from palate.cli import app
from palate.cli_models import serving_features
from palate.ranking.model_store import FileModelStore
from tests.ranking.gbdt_models import register_ranker, train_ranker

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Three versions of a model that uses exactly the features serving provides."""
    store = FileModelStore.in_data_dir(tmp_path)
    booster = train_ranker(seed=1, features=serving_features(), trees=5)
    for ndcg in (0.40, 0.45, 0.30):
        register_ranker(store, booster, ndcg=ndcg, precompile=False)
    return tmp_path


def models(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["models", *args])
    return result.exit_code, result.stdout, result.stderr


def test_promote_list_show_and_rollback(data_dir):
    where = ["--data", str(data_dir)]
    assert models("promote", "v0001", *where)[:2] == (0, "promoted venue_ranker@v0001\n")
    assert models("promote", "v0002", *where)[0] == 0
    code, out, _ = models("list", *where)
    lines = out.splitlines()
    assert code == 0
    assert [line.split()[0] for line in lines] == ["v0001", "*", "v0003"]
    assert "ndcg@10=0.4500" in lines[1]
    assert f"features={len(serving_features())}" in lines[1]
    code, out, _ = models("show", *where)
    shown = json.loads(out)
    assert (code, shown["version"], shown["current"]) == (0, "v0002", True)
    assert shown["features"] == list(serving_features())
    assert models("rollback", *where)[:2] == (0, "rolled back to venue_ranker@v0001\n")
    assert json.loads(models("show", "v0002", *where)[1])["current"] is False


def test_refusals_exit_non_zero_with_the_reason(data_dir):
    where = ["--data", str(data_dir)]
    models("promote", "v0002", *where)
    code, _, err = models("promote", "v0003", *where)
    assert code == 1
    assert "ndcg@10 0.3000 is 0.1500 below current v0002's 0.4500" in err
    code, _, err = models("promote", "v0003", "--max-ndcg-drop", "0.2", *where)
    assert code == 0
    code, _, err = models("promote", "v0001", "--serving-features", "rating,distance_m", *where)
    assert code == 1
    assert "features not provided by serving" in err
    assert models("rollback", *where)[0] == 0
    code, _, err = models("rollback", *where)
    assert (code, "no earlier promotion" in err) == (1, True)
    code, _, err = models("show", "v0042", *where)
    assert (code, "no version v0042" in err) == (1, True)


def test_an_empty_registry_says_so(tmp_path):
    code, out, _ = models("list", "--data", str(tmp_path))
    assert (code, "no versions of venue_ranker" in out) == (0, True)
    assert models("show", "--data", str(tmp_path))[0] == 1
