"""Shared fixtures: a small simulated marketplace on disk, and a real server over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from palate.settings import Settings
from palate.simulate.write import run_simulation
from tests.servers import RunningServer, palate_server

SMALL_SIMULATION = {"seed": 11, "customers": 400, "days": 7, "cities": 1}


@pytest.fixture(scope="session")
def simulated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated city written by the same code as ``palate simulate`` (read-only for tests)."""
    root = tmp_path_factory.mktemp("simulated")
    run_simulation(Settings(data={"dir": root}, simulation=SMALL_SIMULATION))
    return root


@pytest.fixture(scope="session")
def server(
    simulated_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real ``palate serve`` process over the simulated city."""
    with palate_server(simulated_dir, tmp_path_factory.mktemp("logs")) as running:
        yield running
