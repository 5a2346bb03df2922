"""Several workers on one port: each on its own SO_REUSEPORT socket, under a supervisor."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from palate.serving.process import free_port
from tests.servers import RunningServer, palate_server

pytestmark = pytest.mark.e2e
WORKERS = {"PALATE_SERVER__WORKERS": "2"}
CONNECTIONS = 32


def _answer_over_new_connection(base_url: str) -> tuple[int, str]:
    """Which worker answered ``/readyz`` on a new connection, and the request id it gave."""
    with httpx.Client(base_url=base_url, timeout=10.0) as client:  # a client, a connection
        reply = client.get("/readyz")
        return int(reply.json()["pid"]), reply.headers["x-request-id"]


def _answers(server: RunningServer, connections: int = CONNECTIONS) -> list[tuple[int, str]]:
    """``_answer_over_new_connection`` over ``connections`` connections opened at once."""
    with ThreadPoolExecutor(connections) as pool:
        return list(pool.map(_answer_over_new_connection, [server.base_url] * connections))


def _pids(server: RunningServer, connections: int = CONNECTIONS) -> Counter[int]:
    """Which worker answered each of ``connections`` connections opened at the same time."""
    return Counter(pid for pid, _ in _answers(server, connections))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except httpx.TransportError:  # a killed worker's queued connections are reset
            pass
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_two_workers_share_connections_and_a_dead_one_is_replaced(
    simulated_dir: Path, tmp_path: Path
) -> None:
    with palate_server(simulated_dir, tmp_path, env=WORKERS) as server:
        _wait_for(lambda: len(_pids(server, 8)) == 2)  # /readyz answered once: one was up
        first = _pids(server)
        assert len(first) == 2, first  # both workers accept: the kernel spreads connections
        assert min(first.values()) >= 4, first  # 32 connections: never (almost) all on one
        assert server.process.pid not in first  # the supervisor itself serves nothing
        answers = _answers(server, 64)
        ids = [request_id for _, request_id in answers]
        assert len({pid for pid, _ in answers}) == 2, answers
        assert len(set(ids)) == len(ids), ids  # unique across both workers
        assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids), ids

        killed, survivor = list(first)
        os.kill(killed, signal.SIGKILL)
        _wait_for(lambda: len(set(_pids(server, 8)) - {survivor}) == 1)  # a replacement serves
        after = _pids(server)
        assert killed not in after, after
        assert survivor in after, after
        assert len(after) == 2, after
        workers = list(after)
    _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout_s=15.0)  # stopped too


def test_a_taken_port_fails_clearly(simulated_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        env = {
            **os.environ,
            **WORKERS,
            "PALATE_SERVER__PORT": str(port),
            "PALATE_DATA__DIR": str(simulated_dir),
        }
        done = subprocess.run(
            [sys.executable, "-m", "palate", "serve"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stdout + done.stderr
