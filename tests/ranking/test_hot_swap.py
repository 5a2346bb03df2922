"""The server follows promotions and rollbacks without a restart and without a failed request."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from palate.domain.geo import Location
from palate.domain.requests import RankingRequest
from palate.pipeline import Candidates, Pipeline
from palate.ranking.heuristic import HeuristicScorer, HeuristicWeights
from palate.ranking.hot_swap import ModelHolder, ModelWatcher
from palate.ranking.learned import LearnedScorer, StaticModel, load_model, served_model
from palate.ranking.model_store import FileModelStore, ModelVersion
from palate.serving.process import free_port
from tests.ranking.gbdt_models import FEATURES, candidates, register_ranker, train_ranker

NAME = "venue_ranker"
HEURISTIC = HeuristicScorer(HeuristicWeights())
TOP_K = 50
SEEDS = 16
REPO = Path(__file__).resolve().parents[2]


class SeededVenues:
    """The candidates of a request are a function of its user id, so tests can recompute them."""

    name = "seeded"

    def fetch(self, request: RankingRequest) -> Candidates:
        return candidates(np.random.default_rng(int(request.user_id)), 300)


def request_for(seed: int) -> RankingRequest:
    return RankingRequest(str(seed), Location(60.17, 24.94), datetime(2024, 3, 1, tzinfo=UTC), 10)


def ranking_pipeline(scorer: LearnedScorer) -> Pipeline[RankingRequest]:
    return Pipeline(name="swap", sources=[SeededVenues()], scorers=[scorer, HEURISTIC])


def swap_app() -> FastAPI:
    """The app the load test serves: the learned scorer behind a watcher on the registry."""
    logging.basicConfig(level=logging.INFO)
    store = FileModelStore(Path(os.environ["SWAP_TEST_MODELS"]))
    holder = ModelHolder()
    watcher = ModelWatcher(store, NAME, holder, interval_s=0.05)
    ranking = ranking_pipeline(LearnedScorer(holder, HEURISTIC, top_k=TOP_K))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        watcher.poll()  # start serving with the promoted model
        watcher.start()
        yield
        watcher.stop()

    app = FastAPI(lifespan=lifespan)

    @app.get("/ready")
    async def ready() -> JSONResponse:
        return JSONResponse({"version": holder.version}, 200 if holder.current else 503)

    @app.get("/rank")
    async def rank(seed: int) -> JSONResponse:
        result = ranking.run(request_for(seed))
        version = served_model()
        label = None if version is None else version.version
        body = {
            "version": label,
            "scorer": result.scorer,
            "top": result.candidates.positions[:10].tolist(),
        }
        return JSONResponse(body, headers={"x-model-version": str(label)})

    return app


@pytest.fixture
def store(tmp_path: Path) -> FileModelStore:
    return FileModelStore(tmp_path / "models")


def test_poll_follows_promotions_and_rollbacks(store):
    holder = ModelHolder()
    watcher = ModelWatcher(store, NAME, holder)
    assert watcher.poll() is False
    assert holder.current is None
    v1 = register_ranker(store, train_ranker(seed=1, trees=10))
    v2 = register_ranker(store, train_ranker(seed=2, trees=10), ndcg=0.6)
    store.promote(NAME, v1.version, serving_features=FEATURES, max_ndcg_drop=0.0)
    assert watcher.poll() is True
    assert holder.version == "v0001"
    first = holder.current
    assert watcher.poll() is False
    assert holder.current is first  # unchanged pointer: no reload
    store.promote(NAME, v2.version, serving_features=FEATURES, max_ndcg_drop=0.0)
    assert watcher.poll() is True
    assert holder.version == "v0002"
    store.rollback(NAME)
    assert watcher.poll() is True
    assert holder.version == "v0001"


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(store, caplog):
    holder = ModelHolder()
    watcher = ModelWatcher(store, NAME, holder)
    v1 = register_ranker(store, train_ranker(seed=1, trees=10))
    store.promote(NAME, v1.version, serving_features=FEATURES, max_ndcg_drop=0.0)
    watcher.poll()
    broken = register_ranker(store, train_ranker(seed=2, trees=10), precompile=False)
    broken.model_file.write_text("not a model\n")
    store.promote(NAME, broken.version, serving_features=FEATURES, max_ndcg_drop=0.0)
    with caplog.at_level(logging.ERROR, logger="palate.ranking.hot_swap"):
        assert watcher.poll() is False
        assert watcher.poll() is False
    assert holder.version == "v0001"
    assert caplog.text.count("model failed to load") == 1


def test_the_watcher_thread_swaps_a_promotion_in(store):
    holder = ModelHolder()
    v1 = register_ranker(store, train_ranker(seed=1, trees=10))
    with ModelWatcher(store, NAME, holder, interval_s=0.02) as watcher:
        store.promote(NAME, v1.version, serving_features=FEATURES, max_ndcg_drop=0.0)
        deadline = time.monotonic() + 10
        while holder.version != "v0001" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert holder.version == "v0001"
        thread = watcher._thread
    assert thread is not None
    assert not thread.is_alive()


@dataclass
class Reply:
    sent: float
    received: float
    status: int | None
    body: dict[str, object] | None
    seed: int
    error: str | None = None


@contextmanager
def uvicorn_server(models: Path, log_path: Path) -> Iterator[str]:
    """``uvicorn`` serving :func:`swap_app` in a child process; yields once it has a model."""
    port = free_port()
    env = {**os.environ, "SWAP_TEST_MODELS": str(models), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "uvicorn", "tests.ranking.test_hot_swap:swap_app"]
    command += ["--factory", "--port", str(port), "--no-access-log"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base}/ready", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError(f"server not ready:\n{log_path.read_text()}")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def hammer(base: str, stop: threading.Event, replies: list[Reply], seed: int) -> None:
    """Send requests back to back until ``stop``, recording every outcome."""
    rng = np.random.default_rng(seed)
    with httpx.Client(base_url=base, timeout=10.0) as client:
        while not stop.is_set():
            query = int(rng.integers(SEEDS))
            sent = time.monotonic()
            try:
                response = client.get("/rank", params={"seed": query})
                body = response.json()
                status: int | None = response.status_code
                error = None
            except Exception as exc:  # counted as a failed request
                body, status, error = None, None, repr(exc)
            replies.append(Reply(sent, time.monotonic(), status, body, query, error))


def wait_for_version(replies: list[Reply], version: str, after: float) -> float:
    """When the first reply sent after ``after`` came back from ``version``."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for reply in list(replies):
            if reply.sent > after and reply.body and reply.body["version"] == version:
                return reply.received
        time.sleep(0.02)
    raise AssertionError(f"no reply from {version} within 60 s")


def expected_tops(version: ModelVersion) -> dict[int, list[int]]:
    """Each seed's top 10 under ``version``, from the same compiled object the server used."""
    pipeline = ranking_pipeline(
        LearnedScorer(StaticModel(load_model(version)), HEURISTIC, top_k=TOP_K)
    )
    return {
        seed: pipeline.run(request_for(seed)).candidates.positions[:10].tolist()
        for seed in range(SEEDS)
    }


@pytest.mark.integration
def test_promotion_and_rollback_under_load_fail_no_request(store, tmp_path):
    v1 = register_ranker(store, train_ranker(seed=1, trees=30))
    # not compiled at registration: the server compiles it while it keeps answering
    v2 = register_ranker(store, train_ranker(seed=2, trees=60, leaves=31), precompile=False)
    store.promote(NAME, v1.version, serving_features=FEATURES, max_ndcg_drop=0.0)
    replies: list[Reply] = []
    stop = threading.Event()
    log_path = tmp_path / "server.log"
    with uvicorn_server(store.root, log_path) as base:
        clients = [threading.Thread(target=hammer, args=(base, stop, replies, k)) for k in range(4)]
        for client in clients:
            client.start()
        time.sleep(0.5)
        promoted = time.monotonic()
        store.promote(NAME, v2.version, serving_features=FEATURES, max_ndcg_drop=0.0)
        first_v2 = wait_for_version(replies, "v0002", promoted)
        time.sleep(0.5)
        rolled_back = time.monotonic()
        store.rollback(NAME)
        back_to_v1 = wait_for_version(replies, "v0001", rolled_back)
        time.sleep(0.5)
        stop.set()
        for client in clients:
            client.join()
    failures = [r for r in replies if r.status != 200 or r.error is not None]
    assert failures == []
    assert {r.body["scorer"] for r in replies if r.body} == {"learned"}
    tops = {"v0001": expected_tops(v1), "v0002": expected_tops(v2)}
    assert all(r.body and r.body["top"] == tops[r.body["version"]][r.seed] for r in replies)
    version_of = [(r.sent, r.received, r.body["version"]) for r in replies if r.body]
    assert all(v == "v0001" for _, received, v in version_of if received < promoted)
    assert all(v == "v0002" for sent, rcv, v in version_of if first_v2 < sent and rcv < rolled_back)
    assert all(v == "v0001" for sent, _, v in version_of if sent > back_to_v1)
    during_compile = [v for sent, _, v in version_of if promoted < sent < first_v2]
    assert len(during_compile) > 0  # requests kept flowing while v2 loaded
    assert log_path.read_text().count("model swapped") == 3
