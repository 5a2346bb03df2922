"""A real server over a private copy of the simulated city, and an in-process state over it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from palate.catalog.store import load_catalog
from palate.domain.catalog import Catalog
from tests.servers import RunningServer, palate_server

TOKEN = "premises-token"  # noqa: S105 - a test secret
WHEN = "2026-09-18T17:30:00Z"  # 20:30 in Helsinki: inside the default alcohol hours


@pytest.fixture(scope="session")
def premises_dir(simulated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy the server may write (events, catalog changes) without touching the shared one."""
    root = tmp_path_factory.mktemp("premises") / "data"
    shutil.copytree(simulated_dir, root)
    return root


@pytest.fixture(scope="session")
def catalog(simulated_dir: Path) -> Catalog:
    """The simulated catalog as loaded from disk (read-only)."""
    return load_catalog(simulated_dir / "catalog")


@pytest.fixture(scope="session")
def premises_server(
    premises_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """``palate serve`` over the copy, with a known admin token."""
    env = {"PALATE_ADMIN_TOKEN": TOKEN}
    with palate_server(premises_dir, tmp_path_factory.mktemp("premises-logs"), env=env) as server:
        yield server
