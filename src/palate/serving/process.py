"""Run ``palate serve`` as a child process and wait until it is ready (tests, benchmarks)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_process(
    env: Mapping[str, str], base_url: str, log_path: Path, ready_timeout: float = 60.0
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m palate serve`` with ``env``, logging to ``log_path``; yields once
    ``/readyz`` answers 200 and stops the process (terminate, then kill) on exit."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "palate", "serve"], env=dict(env), stdout=log, stderr=log
        )
    try:
        wait_ready(process, base_url, log_path, ready_timeout)
        yield process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """Terminate, wait up to ``timeout_s``, then kill."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_ready(
    process: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout: float
) -> None:
    """Poll ``/readyz`` until 200; raise with the log's tail if the process dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{_tail(log_path)}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready in {timeout}s:\n{_tail(log_path)}")


def _tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-4000:]
