"""WAL lanes: one directory per live writer process, claimed with an exclusive file lock.

Several processes may serve from one data directory (uvicorn workers, or replicas on a
shared disk). Each takes the first lane ``<wal>/lane-<n>`` whose ``LOCK`` it can ``flock``
and is its only writer. The kernel drops the lock when the process dies, even by SIGKILL,
so a restarted process takes the lane back and replays it, and a lane left behind by a
process that never came back is adopted (replayed, then released) by any other.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path

_LANE_NAME = re.compile(r"^lane-(\d+)$")
LOCK_FILE = "LOCK"


class Lane:
    """An exclusively locked lane directory; release it with :meth:`release`.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> first = Lane.acquire(root)
    >>> second = Lane.acquire(root)
    >>> first.path.name, second.path.name
    ('lane-0', 'lane-1')
    >>> Lane.try_lock(first.path) is None
    True
    >>> first.release(); second.release()
    """

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self._descriptor: int | None = descriptor

    def __repr__(self) -> str:
        return f"Lane({str(self.path)!r})"

    @classmethod
    def try_lock(cls, path: Path) -> Lane | None:
        """Lock the lane at ``path`` (created if missing); ``None`` if another process holds it."""
        path.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return None
        except BaseException:
            os.close(descriptor)
            raise
        return cls(path, descriptor)

    @classmethod
    def acquire(cls, root: Path) -> Lane:
        """The first free lane under ``root``, creating a new one when all are taken."""
        number = 0
        while True:
            lane = cls.try_lock(root / f"lane-{number}")
            if lane is not None:
                return lane
            number += 1

    def release(self) -> None:
        """Drop the lock (closing the descriptor releases it)."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


def lane_dirs(root: Path) -> Iterator[Path]:
    """Every lane directory under ``root``, in lane number order."""
    if not root.is_dir():
        return
    numbered = []
    for path in root.iterdir():
        match = _LANE_NAME.match(path.name)
        if match is not None and path.is_dir():
            numbered.append((int(match.group(1)), path))
    for _, path in sorted(numbered):
        yield path
