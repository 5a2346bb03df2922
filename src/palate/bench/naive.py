"""The naive reference service (``benchmarks/naive_service``) as a child next to Palate.

It lives in the repository's ``benchmarks/`` folder, not in the package, so it is started by
module path from the checkout (``python -m benchmarks.naive_service.app``, the repository
root as working directory); from an installed wheel it is simply not available. Its loader
first writes the venue and customer hashes under a unique Redis key prefix, deleted after
the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from palate.bench.scenarios import USERS
from palate.bench.server import PINNED_THREADS, BenchServer, drop_keys
from palate.serving.process import free_port, stop_process, wait_ready

NAIVE_DIR = Path("benchmarks") / "naive_service"
NAIVE_APP = "benchmarks.naive_service.app"
NAIVE_LOADER = "benchmarks.naive_service.loader"


def checkout_root() -> Path | None:
    """The repository root holding the naive service, or None (an installed wheel)."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / NAIVE_DIR / "app.py").is_file() else None


def _env() -> dict[str, str]:
    return {**os.environ, **dict.fromkeys(PINNED_THREADS, "1")}


def load_naive_features(root: Path, data_dir: Path, redis_url: str, prefix: str) -> str:
    """Run the loader (Palate's features as of the bench moment → Redis hashes); its summary."""
    command = [sys.executable, "-m", NAIVE_LOADER, "--data", str(data_dir.resolve())]
    command += ["--redis-url", redis_url, "--prefix", prefix, "--users", str(USERS)]
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
        command, cwd=root, env=_env(), capture_output=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"naive loader failed:\n{done.stderr.decode(errors='replace')[-4000:]}")
    return done.stdout.decode().strip()


@contextmanager
def naive_server(
    data_dir: Path,
    redis_url: str,
    workers: int = 1,
    ready_timeout: float = 120.0,
    prefix: str | None = None,
) -> Iterator[BenchServer]:
    """The loaded naive service, ready; its Redis keys (under ``prefix``, default a fresh
    unique one) are dropped on exit."""
    root = checkout_root()
    if root is None:
        raise FileNotFoundError(f"{NAIVE_DIR} is not in this installation")
    prefix = prefix or f"palate-naive-{uuid.uuid4().hex[:12]}"
    port = free_port()
    try:
        load_naive_features(root, data_dir, redis_url, prefix)
        with tempfile.TemporaryDirectory(prefix="palate-naive-") as scratch:
            log_path = Path(scratch) / "naive.log"
            command = [sys.executable, "-m", NAIVE_APP, "--data", str(data_dir.resolve())]
            command += ["--redis-url", redis_url, "--prefix", prefix, "--port", str(port)]
            command += ["--workers", str(workers)]
            with log_path.open("wb") as log:
                process = subprocess.Popen(  # noqa: S603 - our interpreter and module, no shell
                    command, cwd=root, env=_env(), stdout=log, stderr=log
                )
            try:
                wait_ready(process, f"http://127.0.0.1:{port}", log_path, ready_timeout)
                yield BenchServer("127.0.0.1", port, process, log_path)
            finally:
                stop_process(process)
    finally:
        drop_keys(redis_url, prefix)
