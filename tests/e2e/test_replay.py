"""``palate replay`` feeds a simulated log through the real ingestion path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from palate.events.log import EventLog
from tests.servers import palate_server

pytestmark = pytest.mark.e2e


def test_replay_sends_every_event_once_and_a_second_replay_is_all_duplicates(
    simulated_dir: Path, tmp_path: Path
) -> None:
    source = EventLog(simulated_dir / "events")
    expected = source.count()
    target = tmp_path / "target"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "palate",
            "simulate",
            "--data",
            str(target),
            "--customers",
            "50",
            "--days",
            "1",
            "--seed",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    with palate_server(target, tmp_path) as server:
        command = [
            sys.executable,
            "-m",
            "palate",
            "replay",
            str(simulated_dir),
            "--url",
            server.base_url,
            "--batch",
            "500",
            "--rate",
            "50000",
        ]
        first = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        second = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        with server.client() as client:
            stats = client.get("/v1/events/stats").json()
    assert f"replayed {expected:,} events" in first
    assert f"{expected:,} accepted, 0 duplicate, 0 rejected" in first
    assert f"0 accepted, {expected:,} duplicate" in second
    assert stats["accepted"] == expected
