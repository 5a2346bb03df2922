"""Banners, categories and Discovery sections read the feature store once per request
(Discovery's read carries their weights and evidence), brands twice, and Redis answers exactly
as memory does."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from palate.catalog.store import load_catalog
from palate.events.log import EventLog
from palate.features.store import FeatureStore
from palate.features.store.redis import RedisFeatureStore
from palate.serving.app import create_app
from palate.serving.state import EVENTS_DIR, ServingState, build_state, warm_features
from palate.settings import Settings
from tests.entry_points.test_http import WHEN, InProcess
from tests.features.conftest import REDIS_URL

pytestmark = pytest.mark.integration
# store reads (round trips) per request, and the path answering each kind
KINDS = {"banners": 1, "categories": 1, "brands": 2, "sections": 1}
PATHS = {"sections": "/v1/discovery/sections"}


class CountedReads:
    """Counts a real store's reads (each one pipeline, one round trip, with Redis)."""

    def __init__(self, store: FeatureStore) -> None:
        self.calls = 0
        self._read = store.read

        def read(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return self._read(*args, **kwargs)

        store.read = read  # type: ignore[method-assign]


def _served(root: Path, redis_prefix: str | None) -> tuple[FastAPI, ServingState]:
    redis = {} if redis_prefix is None else {"url": REDIS_URL, "key_prefix": redis_prefix}
    # the venue frame is built on the first request and then kept: its refresh steps (a read
    # each, every venue_features_max_age_s) are not what this test counts
    discovery = {"venue_features_max_age_s": 3_600.0}
    settings = Settings(data={"dir": root}, redis=redis, discovery=discovery)
    state = build_state(load_catalog(root / "catalog"), settings, data_dir=root)
    warm_features(state, settings, EventLog(root / EVENTS_DIR))
    return create_app(settings, state), state


@pytest.fixture(scope="module")
def both(
    simulated_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], tuple[InProcess, CountedReads]]]:
    """The same city served from the memory store and from a fresh Redis namespace."""
    apps = {}
    for name, prefix in (("memory", None), ("redis", f"palate-test-{uuid.uuid4().hex[:12]}")):
        root = tmp_path_factory.mktemp(f"trips-{name}") / "data"
        shutil.copytree(simulated_dir, root)
        app, state = _served(root, prefix)
        apps[name] = (InProcess(app), CountedReads(state.features.store), state)
    try:
        yield lambda name: apps[name][:2]
    finally:
        store = apps["redis"][2].features.store
        assert isinstance(store, RedisFeatureStore)
        store.clear()
        store.close()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_reads_per_request_and_the_same_answer_from_redis(
    kind: str, both: Callable[[str], tuple[InProcess, CountedReads]]
) -> None:
    answers = {}
    for name in ("memory", "redis"):
        client, reads = both(name)
        warm = {"user_id": "c9", "location": {"lat": 60.17, "lon": 24.94}, "time": WHEN}
        path = PATHS.get(kind, f"/v1/{kind}")
        assert client.post(path, json=warm).status_code == 200  # builds the frame
        got = []
        for user in ("c0", "c1", "c2", "c3"):
            body = {"user_id": user, "location": {"lat": 60.17, "lon": 24.94}, "time": WHEN}
            before = reads.calls
            reply = client.post(path, json=body)
            assert reply.status_code == 200, reply.text
            assert reads.calls - before == KINDS[kind], name
            payload = reply.json()
            assert not payload["degraded"]
            got.append(payload[kind])
        answers[name] = got
    assert answers["redis"] == answers["memory"]
    assert any(answers["memory"])
