"""SIGKILL mid-ingest: every acknowledged event survives, exactly once, and stays deduplicated."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis

from palate.events.batches import EventBatch
from palate.events.compaction import Manifest
from palate.events.wal import MAGIC
from palate.serving.stream import PAYLOAD_FIELD
from tests.ingest.conftest import REDIS_URL
from tests.ingest.samples import logged_ids, mixed, post, statuses
from tests.servers import palate_server

pytestmark = pytest.mark.integration

CLIENTS = 3
BATCHES = 800
KILL_AFTER_EVENTS = 25_000
ENV = {
    # Small segments and frequent compaction, so the kill can land in any phase.
    "PALATE_INGEST__COMPACT_INTERVAL_S": "0.2",
    "PALATE_INGEST__SEGMENT_BYTES": "65536",
    "PALATE_SERVER__ACCESS_LOG": "false",
}


class Sender:
    """Client threads sending batches until the server dies; records what was acknowledged."""

    def __init__(self, base_url: str, batches: list[list[dict[str, Any]]]) -> None:
        self.base_url = base_url
        self.batches = batches
        self.acknowledged: dict[int, list[str]] = {}
        self.broken_requests = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(CLIENTS)]

    def run(self, offset: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10.0) as client:
            for i in range(offset, len(self.batches), CLIENTS):
                body = orjson.dumps({"events": self.batches[i]})
                try:
                    reply = client.post("/v1/events", content=body)
                except httpx.TransportError:
                    with self.lock:
                        self.broken_requests += 1
                    return
                assert reply.status_code == 200, reply.text
                results = reply.json()["results"]
                assert {r["status"] for r in results} <= {"accepted", "duplicate"}
                with self.lock:
                    self.acknowledged[i] = [r["event_id"] for r in results]

    def acknowledged_events(self) -> int:
        with self.lock:
            return sum(len(ids) for ids in self.acknowledged.values())


def _wal_has_records(data_dir: Path) -> bool:
    """Whether an uncompacted WAL segment holds a record (so the restart replays something)."""
    for lane in (data_dir / "wal").glob("lane-*"):
        compacted = Manifest.load(lane).compacted_through
        for path in lane.glob("seg-*.wal"):
            try:
                if int(path.stem[4:]) > compacted and path.stat().st_size > len(MAGIC):
                    return True
            except FileNotFoundError:
                continue  # compacted away meanwhile
    return False


def _kill_mid_ingest(data_dir: Path, tmp_path: Path, env: dict[str, str]) -> Sender:
    """Serve, send batches from client threads, SIGKILL the server once enough are in."""
    batches = [mixed(100, prefix=f"b{i}-") for i in range(BATCHES)]
    with palate_server(data_dir, tmp_path, env=env) as server:
        sender = Sender(server.base_url, batches)
        for thread in sender.threads:
            thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sender.acknowledged_events() >= KILL_AFTER_EVENTS and _wal_has_records(data_dir):
                break
            time.sleep(0.002)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        for thread in sender.threads:
            thread.join()
    assert sender.acknowledged_events() >= KILL_AFTER_EVENTS
    assert len(sender.acknowledged) < BATCHES, "the kill landed mid-ingest"
    return sender


def _resend_acknowledged(client: httpx.Client, sender: Sender) -> None:
    for i in sorted(sender.acknowledged):
        assert set(statuses(post(client, sender.batches[i]))) == {"duplicate"}, i


def test_sigkill_mid_ingest_loses_no_acknowledged_event(data_dir: Path, tmp_path: Path) -> None:
    events_dir = data_dir / "events"
    simulated = len(logged_ids(events_dir))
    sender = _kill_mid_ingest(data_dir, tmp_path, ENV)
    acknowledged = {event_id for ids in sender.acknowledged.values() for event_id in ids}

    at_restart = logged_ids(events_dir)  # what the restarted server loads its features from
    assert len(at_restart) == len(set(at_restart))
    with palate_server(data_dir, tmp_path, env=ENV) as restarted, restarted.client() as client:
        recovered = client.get("/v1/events/stats").json()
        assert recovered["replayed"] > 0, "the kill left uncompacted WAL records to replay"
        _resend_acknowledged(client, sender)
        after = client.get("/v1/events/stats").json()
    assert after["applied"] == recovered["applied"], "duplicates apply nothing"

    final = logged_ids(events_dir)
    assert len(final) == len(set(final)), "no event is in the log twice"
    assert acknowledged <= set(final), "every acknowledged event is in the log"
    # The features saw each event once: loaded from the log, or replayed from the WAL.
    assert len(final) == len(at_restart) + recovered["applied"]
    assert len(final) - simulated >= len(acknowledged)


def _streamed_ids(client: redis.Redis, stream: str) -> list[str]:
    ids: list[str] = []
    entries: Any = client.xrange(stream)
    for _, fields in entries:
        ids += EventBatch.from_bytes(fields[PAYLOAD_FIELD]).table.column("event_id").to_pylist()
    return ids


def test_sigkill_in_redis_mode_streams_every_acknowledged_event_once(
    data_dir: Path, tmp_path: Path, redis_prefix: str, redis_client: redis.Redis
) -> None:
    env = {
        **ENV,
        "PALATE_REDIS__URL": REDIS_URL,
        "PALATE_REDIS__KEY_PREFIX": redis_prefix,
        "PALATE_REDIS__CLAIM_IDLE_S": "0.5",
    }
    simulated = set(logged_ids(data_dir / "events"))
    sender = _kill_mid_ingest(data_dir, tmp_path, env)
    acknowledged = {event_id for ids in sender.acknowledged.values() for event_id in ids}
    with palate_server(data_dir, tmp_path, env=env) as restarted, restarted.client() as client:
        _resend_acknowledged(client, sender)

        def settled() -> bool:
            stream = client.get("/v1/events/stats").json()["stream"]
            return bool(stream["pending"] == 0 and stream["lag"] == 0)

        # A liveness bound, not a speed target: applying the backlog to the Redis store takes
        # ~15 s on a quiet 2-core machine, more when CI shares it.
        deadline = time.monotonic() + 90
        while not settled():
            assert time.monotonic() < deadline, "the group never applied everything"
            time.sleep(0.1)
    streamed = _streamed_ids(redis_client, f"{redis_prefix}:{{events}}:stream")
    assert len(streamed) == len(set(streamed)), "no event was published twice"
    assert acknowledged <= set(streamed), "every acknowledged event reached the stream"
    final = logged_ids(data_dir / "events")
    assert len(final) == len(set(final))
    assert set(final) - simulated == set(streamed), "the log and the stream agree"
