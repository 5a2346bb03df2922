"""Start real ``palate serve`` processes for tests, on a free port, and stop them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from palate.serving.process import free_port, serve_process


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
    server_url = f"http://127.0.0.1:{port}"
    with serve_process(child_env, server_url, log_path, ready_timeout) as process:
        yield RunningServer(server_url, process, log_path)
