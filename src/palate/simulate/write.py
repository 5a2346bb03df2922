"""``palate simulate``: run the simulator and write its output where serving and training look."""

from __future__ import annotations

import time

from palate.catalog.store import save_catalog
from palate.events.log import EventLog
from palate.settings import Settings
from palate.simulate.config import SimulationConfig
from palate.simulate.engine import simulate
from palate.simulate.summary import summarize

TRUTH_DIR = "truth"


def config_from(settings: Settings) -> SimulationConfig:
    """The simulator's config from the ``[simulation]`` settings."""
    sim = settings.simulation
    return SimulationConfig(
        seed=sim.seed, customers=sim.customers, days=sim.days, n_cities=sim.cities
    )


def run_simulation(settings: Settings) -> str:
    """Simulate, replace the data directory's catalog, events and ground truth; a summary text."""
    started = time.perf_counter()
    result = simulate(config_from(settings))
    elapsed = time.perf_counter() - started
    root = settings.data.dir
    if (root / "events").exists():
        import shutil

        shutil.rmtree(root / "events")
    save_catalog(result.catalog, root / "catalog")
    EventLog(root / "events").append(result.events)
    result.truth.save(root / TRUTH_DIR)
    return f"{summarize(result).format()}\nsimulated in {elapsed:.1f}s, written to {root}"
