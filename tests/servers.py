"""Start real ``palate serve`` processes for tests, on a free port, and stop them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10.0)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def palate_server(
    data_dir: Path, log_dir: Path, env: dict[str, str] | None = None, ready_timeout: float = 60.0
) -> Iterator[RunningServer]:
    """``python -m palate serve`` as a child process; yields once ``/readyz`` answers 200."""
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    child_env = {
        **os.environ,
        "PALATE_SERVER__PORT": str(port),
        "PALATE_DATA__DIR": str(data_dir),
        "PALATE_SERVER__ACCESS_LOG": "true",
        **(env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "palate", "serve"], env=child_env, stdout=log, stderr=log
        )
    server = RunningServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_ready(server, ready_timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: RunningServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log_text()}")
        try:
            if httpx.get(f"{server.base_url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready in {timeout}s:\n{server.log_text()}")
