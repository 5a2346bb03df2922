"""Fixtures of the ingest tests: a writable copy of the simulated city, Redis key isolation."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"


def copy_city(simulated_dir: Path, target: Path) -> Path:
    """A data directory with the simulated catalog and event log, safe to write to."""
    target.mkdir(parents=True, exist_ok=True)
    for part in ("catalog", "events"):
        shutil.copytree(simulated_dir / part, target / part)
    return target


@pytest.fixture
def data_dir(simulated_dir: Path, tmp_path: Path) -> Path:
    return copy_city(simulated_dir, tmp_path / "data")


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"these tests need a Redis at {REDIS_URL} (.ci/run starts one)")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=5_000))
    for start in range(0, len(keys), 5_000):
        redis_client.delete(*keys[start : start + 5_000])
