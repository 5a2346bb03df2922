"""``palate demo``: simulate → replay → train → promote → serve, with the real commands' code.

The simulator writes a marketplace into ``<data>/simulated``; only its catalog (and ground
truth) is copied into ``<data>``. The server starts on ``<data>`` with an empty event log,
and the simulated log is replayed through ``POST /v1/events`` (``palate replay``), so the
online features and ``<data>/events`` are built by the production ingestion path. The ranker
is then trained on that ingested log and promoted; the running server hot-swaps it in and
keeps serving. A second ``palate demo`` on the same directory just serves.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import uvicorn

from palate.events.log import EventLog
from palate.observability.logging import configure_logging
from palate.serving.app import create_app
from palate.serving.http_protocol import UVICORN_OPTIONS
from palate.serving.server import banner
from palate.serving.state import CATALOG_DIR, EVENTS_DIR, ServingState, load_state
from palate.settings import Settings
from palate.simulate.write import TRUTH_DIR, run_simulation
from palate.training.venue_ranker.commands import ensure_demo_model

SIMULATED_DIR = "simulated"
WAL_DIR = "wal"
# The feature writers pay a fixed cost per batch, so the replay sends large ones: 10,000 events
# a request ingest about three times faster than the API's default limit of 1,000.
REPLAY_BATCH = 10_000
REPLAY_BODY_BYTES = 16 * 1024 * 1024
COMPACT_INTERVAL_S = 1.0
COMPACTION_TIMEOUT_S = 60.0
Echo = Callable[[str], None]


def demo_settings(settings: Settings) -> Settings:
    """The settings the demo serves with: large replay batches, a prompt compaction."""
    ingest = settings.ingest.model_copy(
        update={
            "max_batch": max(settings.ingest.max_batch, REPLAY_BATCH),
            "max_body_bytes": max(settings.ingest.max_body_bytes, REPLAY_BODY_BYTES),
            "compact_interval_s": min(settings.ingest.compact_interval_s, COMPACT_INTERVAL_S),
        }
    )
    return settings.model_copy(update={"ingest": ingest})


def simulate_source(settings: Settings, echo: Echo) -> Path:
    """Simulate into ``<data>/simulated``; copy its catalog and truth into ``<data>`` and clear
    what a previous demo ingested there (event log, write-ahead log)."""
    root = settings.data.dir
    source = root / SIMULATED_DIR
    echo(run_simulation(settings.model_copy(update={"data": settings.data.model_copy(
        update={"dir": source})})))  # fmt: skip
    for name in (CATALOG_DIR, TRUTH_DIR, EVENTS_DIR, WAL_DIR):
        shutil.rmtree(root / name, ignore_errors=True)
    shutil.copytree(source / CATALOG_DIR, root / CATALOG_DIR)
    shutil.copytree(source / TRUTH_DIR, root / TRUTH_DIR)
    return source


class BackgroundServer:
    """The API served by uvicorn on a thread, so the demo's steps can run against it."""

    def __init__(self, settings: Settings, state: ServingState) -> None:
        app, server = create_app(settings, state), settings.server
        config = uvicorn.Config(
            app, host=server.host, port=server.port, log_config=None, **UVICORN_OPTIONS
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="palate-demo-server")
        self.url = f"http://{settings.server.host}:{settings.server.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        """Serve; returns once the server accepts requests."""
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the demo server did not start on {self.url}")
            time.sleep(0.05)

    def wait(self) -> None:
        """Serve until interrupted (Ctrl-C or SIGTERM), then shut down cleanly."""

        def stop(_signal: int, _frame: FrameType | None) -> None:
            self.server.should_exit = True

        signal.signal(signal.SIGTERM, stop)
        try:
            while self.thread.is_alive():
                self.thread.join(0.5)
        except KeyboardInterrupt:
            self.server.should_exit = True
            self.thread.join()


def replay_into(server: BackgroundServer, source: Path, events: EventLog, echo: Echo) -> None:
    """Run ``palate replay`` (its own process, so it does not share the server's core) over the
    simulated log; wait until every event is compacted into ``events``.

    Events ingested by an interrupted earlier run come back ``duplicate`` and are not resent.
    """
    command = [sys.executable, "-m", "palate", "replay", str(source), "--url", server.url]
    command += ["--batch", str(REPLAY_BATCH), "--concurrency", "2"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    echo(done.stdout.strip())
    expected = EventLog(source / EVENTS_DIR).count()
    if done.returncode != 0 or f"{expected:,} events" not in done.stdout:
        raise RuntimeError(f"the replay failed:\n{done.stdout}{done.stderr[-2000:]}")
    deadline = time.monotonic() + COMPACTION_TIMEOUT_S
    while events.count() < expected:  # compaction moves the WAL into the log every second
        if time.monotonic() > deadline:
            raise RuntimeError(f"{events.count():,} of {expected:,} events reached the log")
        time.sleep(0.2)


def wait_for_model(state: ServingState, timeout_s: float = 60.0) -> str | None:
    """The version the server swapped in (it polls the registry), ``None`` if none came."""
    deadline = time.monotonic() + timeout_s
    while state.models.version is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return state.models.version


def run_demo(settings: Settings, *, fresh: bool, echo: Echo) -> None:
    """Simulate (first run or ``fresh``), serve, replay, train, promote, and serve on."""
    configure_logging(settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per replayed batch
    settings = demo_settings(settings)
    root = settings.data.dir
    source = root / SIMULATED_DIR
    if fresh or not (root / CATALOG_DIR).exists() or not (source / EVENTS_DIR).exists():
        source = simulate_source(settings, echo)
    events = EventLog(root / EVENTS_DIR)
    state = load_state(settings)  # warms the features from what was ingested before, if any
    server = BackgroundServer(settings, state)
    server.start()
    replayed = events.count() < EventLog(source / EVENTS_DIR).count()
    if replayed:
        started = time.perf_counter()
        replay_into(server, source, events, echo)
        echo(f"ingested into {root / EVENTS_DIR} in {time.perf_counter() - started:.1f}s")
    echo(ensure_demo_model(settings, retrain=fresh or replayed))
    echo(f"serving model {wait_for_model(state)}")
    echo(banner(settings, state))
    server.wait()
