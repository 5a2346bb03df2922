"""A real server over a writable copy of the simulated city: the UI tests place orders."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from palate.catalog.store import load_catalog
from palate.domain.catalog import Catalog
from palate.settings import Settings
from palate.training.venue_ranker.commands import run_evaluate
from tests.servers import RunningServer, palate_server

ADMIN_TOKEN = "ui-test-token"  # noqa: S105 - a test-only token


@pytest.fixture(scope="module")
def ui_server(
    simulated_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """``palate serve`` on its own copy of the data, so the events it takes stay here; the copy
    holds the report of a real ``palate evaluate`` (a few seconds on the small city)."""
    root = tmp_path_factory.mktemp("ui")
    data = root / "data"
    shutil.copytree(simulated_dir, data)
    run_evaluate(Settings(data={"dir": data}), out=None, sample=1.0, step_minutes=60)
    env = {"PALATE_ADMIN_TOKEN": ADMIN_TOKEN}
    with palate_server(data, root, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def simulated_catalog(simulated_dir: Path) -> Catalog:
    """The simulated city's catalog, loaded in-process."""
    return load_catalog(simulated_dir / "catalog")
