"""A benchmarked server child process and its resource use (CPU over its process tree, peak RSS)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

PINNED_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class BenchServer:
    """A running server child (``palate serve``, or a baseline service)."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and its live descendants (workers)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in _process_tree(self.process.pid):
            fields = _stat_fields(pid)
            if fields:
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def peak_rss_mb(self) -> float:
        """Sum of the peak resident set (VmHWM) of the server's processes, in MiB."""
        total_kb = 0
        for pid in _process_tree(self.process.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    total_kb += int(line.split()[1])
        return round(total_kb / 1024, 1)


def _stat_fields(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command name (state is field 0, ppid 1, utime 11)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text[text.rindex(")") + 2 :].split()


def _process_tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, frontier = [root], [root]
    while frontier:
        frontier = [child for pid in frontier for child in parents.get(pid, [])]
        tree += frontier
    return tree


def drop_keys(redis_url: str, prefix: str) -> int:
    """Delete every key under ``prefix`` (SCAN + UNLINK in batches); how many were deleted."""
    import redis

    client = redis.Redis.from_url(redis_url)
    deleted, batch = 0, []
    for key in client.scan_iter(match=f"{prefix}:*", count=1_000):
        batch.append(key)
        if len(batch) >= 1_000:
            deleted += int(client.unlink(*batch))
            batch = []
    if batch:
        deleted += int(client.unlink(*batch))
    client.close()
    return deleted
