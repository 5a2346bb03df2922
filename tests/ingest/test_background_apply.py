"""``ingest.read_your_writes = false``: the reply after the WAL, the features in the background.

The contract: an accepted event is durable before the reply; it reaches the features within
``ingest.apply_interval_s`` plus one apply (the freshness benchmark measures that bound), a
request that asks ``wait_applied`` is answered only after, and accepted events the process
had not applied yet when it died are applied at the next start.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from palate.events.dedupe import MemoryDedupe
from palate.events.durable import DurableLog
from palate.events.log import EventLog
from palate.serving.ingestion import Ingestor
from tests.ingest.samples import mixed, post, statuses
from tests.servers import palate_server

BACKGROUND = {
    "PALATE_INGEST__READ_YOUR_WRITES": "false",
    "PALATE_SERVER__ACCESS_LOG": "false",
}


def _ingestor(root: Path, callback: Callable[[pa.Table], None], interval_s: float) -> Ingestor:
    durable = DurableLog(root / "wal", EventLog(root / "events"), 1 << 20, 3600.0, 3600.0)
    return Ingestor(
        durable,
        MemoryDedupe(3600.0, 100_000, 30.0),
        on_accepted=[callback],
        apply_interval_s=interval_s,
        read_your_writes=False,
    )


def test_the_reply_does_not_wait_for_the_features_and_wait_applied_catches_up(
    tmp_path: Path,
) -> None:
    gate, applied = threading.Event(), []

    def slow(table: pa.Table) -> None:
        gate.wait(10)  # a feature write still running when the reply goes out
        applied.extend(table.column("event_id").to_pylist())

    service = _ingestor(tmp_path, slow, interval_s=0.0)
    service.start()
    try:
        events = mixed(4)
        assert service.ingest(events).accepted == 4
        assert applied == []
        gate.set()
        service.wait_applied()
        assert sorted(applied) == sorted(e["event_id"] for e in events)
        assert service.stats()["pending_apply_batches"] == 0
    finally:
        service.stop()


def test_stop_applies_what_is_still_queued(tmp_path: Path) -> None:
    applied: list[str] = []
    service = _ingestor(
        tmp_path, lambda t: applied.extend(t.column("event_id").to_pylist()), 3600.0
    )
    service.start()
    first, queued = mixed(2, prefix="a-"), mixed(3, prefix="b-")
    service.ingest(first, wait=True)  # the first group goes at once
    for event in queued:
        assert service.ingest([event]).accepted == 1
    assert service.stats()["pending_apply_batches"] == 3, "held back by the interval"
    service.stop()
    assert sorted(applied) == sorted(e["event_id"] for e in first + queued)


@pytest.mark.integration
def test_wait_applied_answers_after_the_apply(data_dir: Path, tmp_path: Path) -> None:
    env = BACKGROUND | {"PALATE_INGEST__APPLY_INTERVAL_S": "0.5"}
    with palate_server(data_dir, tmp_path, env=env) as server, server.client() as client:
        for n in range(3):
            assert post(client, mixed(5, f"w{n}"), wait_applied=True)["accepted"] == 5
            stats = client.get("/v1/events/stats").json()
            assert stats["applied"] == 5 * (n + 1), "the reply came after the features saw them"


@pytest.mark.integration
def test_accepted_events_not_yet_applied_at_a_kill_are_applied_at_the_next_start(
    data_dir: Path, tmp_path: Path
) -> None:
    # An hour between groups and between compactions: the queued batches stay queued and
    # in the WAL until the kill.
    env = BACKGROUND | {
        "PALATE_INGEST__APPLY_INTERVAL_S": "3600",
        "PALATE_INGEST__COMPACT_INTERVAL_S": "3600",
    }
    first, queued = mixed(2, prefix="first-"), mixed(6, prefix="queued-")
    with palate_server(data_dir, tmp_path, env=env) as server, server.client() as client:
        assert (
            post(client, first, wait_applied=True)["accepted"] == 2
        )  # the group after a quiet spell
        for event in queued:
            assert post(client, [event])["accepted"] == 1
        stats = client.get("/v1/events/stats").json()
        assert (stats["applied"], stats["pending_apply_batches"]) == (2, 6)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
    with (
        palate_server(data_dir, tmp_path, env=BACKGROUND) as restarted,
        restarted.client() as client,
    ):
        recovered = client.get("/v1/events/stats").json()
        assert recovered["replayed"] == 8, "every accepted event was still in the WAL"
        assert recovered["applied"] == 8, "and the restart applied each of them"
        assert set(statuses(post(client, first + queued))) == {"duplicate"}
