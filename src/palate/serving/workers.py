"""Several server workers, each on its own ``SO_REUSEPORT`` socket, under one supervisor.

uvicorn's own workers share one listening socket, and the first worker awake accepts every
connection waiting on it. Clients that keep their connections open (load balancers, the
bench's load generator, any HTTP/1.1 pool) then stay on that worker: under a burst of new
connections one worker took nearly all of them and saturated while the other sat idle, which
was the whole p99 of a two-worker Discovery run. With ``SO_REUSEPORT`` each worker listens on
its own socket and the kernel spreads new connections over them by their address hash.

The supervisor starts the workers, restarts one that dies after it started serving, stops
everything if one dies while starting (a bad data dir or port would only crash again), and
passes SIGINT/SIGTERM on as a graceful stop.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType

import uvicorn

from palate.serving.http_protocol import UVICORN_OPTIONS

log = logging.getLogger("palate.workers")
STARTUP_FAILURE = 3  # uvicorn's exit code for a worker that could not start (kept the same)
STOP_TIMEOUT_S = 30.0  # how long a stopping worker may finish its requests before it is killed


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that other workers of this user may bind as well."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve_worker(host: str, port: int, app: str, ready: EventType) -> None:
    """One worker: its own socket, the app built by the ``app`` factory, until stopped;
    ``ready`` is set once it serves (a death before that is a failed start)."""
    try:
        sock = reuse_port_socket(host, port)
    except OSError as exc:
        print(f"worker cannot bind {host}:{port}: {exc}", file=sys.stderr)  # noqa: T201
        sys.exit(STARTUP_FAILURE)
    server = uvicorn.Server(
        uvicorn.Config(app, factory=True, host=host, port=port, **UVICORN_OPTIONS)
    )

    def report_started() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            ready.set()

    threading.Thread(target=report_started, name="palate-worker-ready", daemon=True).start()
    server.run(sockets=[sock])


@dataclass
class _Worker:
    process: BaseProcess
    ready: EventType


class Supervisor:
    """Runs ``count`` workers of the ``app`` factory on ``host:port`` until told to stop."""

    def __init__(self, host: str, port: int, count: int, app: str) -> None:
        self.host, self.port, self.count, self.app = host, port, count, app
        self._context = multiprocessing.get_context("spawn")
        self._stop = threading.Event()
        self._workers: list[_Worker] = []

    def run(self) -> int:
        """Serve until SIGINT/SIGTERM (exit code 0) or a worker's failed start (1)."""
        try:
            reuse_port_socket(self.host, self.port).close()  # a taken port fails here, clearly
        except OSError as exc:
            log.error("cannot listen on %s:%s: %s", self.host, self.port, exc)
            return 1
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())
        self._workers = [self._start() for _ in range(self.count)]
        failed = False
        while not self._stop.wait(0.5):
            failed = self._replace_dead()
            if failed:
                break
        self._stop_all()
        return 1 if failed else 0

    def stop(self) -> None:
        """Ask :meth:`run` to stop the workers and return."""
        self._stop.set()

    def pids(self) -> list[int | None]:
        """The workers' process ids."""
        return [w.process.pid for w in self._workers]

    def _start(self) -> _Worker:
        ready = self._context.Event()
        process = self._context.Process(
            target=serve_worker, args=(self.host, self.port, self.app, ready), daemon=False
        )
        process.start()
        log.info("started worker %s", process.pid)
        return _Worker(process, ready)

    def _replace_dead(self) -> bool:
        """Restart each worker that died after starting; True if one died while starting."""
        for k, worker in enumerate(self._workers):
            if worker.process.is_alive():
                continue
            code = worker.process.exitcode
            if not worker.ready.is_set():
                log.error("worker %s failed to start (exit %s)", worker.process.pid, code)
                return True
            log.warning("worker %s died (exit %s); starting another", worker.process.pid, code)
            self._workers[k] = self._start()
        return False

    def _stop_all(self) -> None:
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.terminate()  # SIGTERM: uvicorn finishes its requests first
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for worker in self._workers:
            worker.process.join(max(deadline - time.monotonic(), 0.0))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
