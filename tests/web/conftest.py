"""A real server over a writable copy of the simulated city: the UI tests place orders."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from palate.catalog.store import load_catalog
from palate.domain.catalog import Catalog
from tests.servers import RunningServer, palate_server

ADMIN_TOKEN = "ui-test-token"  # noqa: S105 - a test-only token


@pytest.fixture(scope="module")
def ui_server(
    simulated_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """``palate serve`` on its own copy of the data, so the events it takes stay here."""
    root = tmp_path_factory.mktemp("ui")
    data = root / "data"
    shutil.copytree(simulated_dir, data)
    env = {"PALATE_ADMIN_TOKEN": ADMIN_TOKEN}
    with palate_server(data, root, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def simulated_catalog(simulated_dir: Path) -> Catalog:
    """The simulated city's catalog, loaded in-process."""
    return load_catalog(simulated_dir / "catalog")
