"""The write-ahead log: accepted events are fsynced here before the client hears ``accepted``.

A WAL directory holds numbered segment files ``seg-<seq>.wal``. Each starts with an 8-byte
magic and then holds records::

    u32 payload length | u32 CRC-32 of the payload | payload

Only the newest segment is ever written; it is sealed once it reaches ``segment_bytes`` (or
when the compactor asks) and a new one is begun. A crash mid-write leaves a torn last
record, which the reader detects by its length or CRC and ignores: its append never
returned, so it was never acknowledged.

Appends use group commit: concurrent callers queue their records, one of them writes the
whole queue and fsyncs once, and every caller returns once its own record is durable.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"PWAL\x00\x00\x00\x01"
_RECORD_HEADER = struct.Struct("<II")
_SEGMENT_NAME = re.compile(r"^seg-(\d{16})\.wal$")
MAX_RECORD_BYTES = 1 << 30


def frame(payload: bytes) -> bytes:
    """One record: length, CRC-32 and the payload.

    >>> frame(b"abc")[:4]
    b'\\x03\\x00\\x00\\x00'
    """
    if len(payload) > MAX_RECORD_BYTES:
        raise ValueError(f"a WAL record holds at most {MAX_RECORD_BYTES} bytes")
    return _RECORD_HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def segment_name(seq: int) -> str:
    """The file name of segment ``seq``.

    >>> segment_name(7)
    'seg-0000000000000007.wal'
    """
    return f"seg-{seq:016d}.wal"


def segment_seq(path: Path) -> int | None:
    """The sequence number of a segment file, or ``None`` for any other file."""
    match = _SEGMENT_NAME.match(path.name)
    return None if match is None else int(match.group(1))


def list_segments(directory: Path) -> list[int]:
    """Sequence numbers of the segments in ``directory``, ascending."""
    if not directory.is_dir():
        return []
    found = (segment_seq(path) for path in directory.iterdir())
    return sorted(seq for seq in found if seq is not None)


@dataclass(frozen=True, slots=True)
class SegmentScan:
    """The intact records of a segment, and whether a torn tail followed them."""

    records: list[bytes]
    valid_bytes: int
    torn: bool


def scan_segment(path: Path) -> SegmentScan:
    """Read every intact record; stop at the first short, oversized or corrupt one."""
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        # A crash right after creating the file can leave it shorter than the magic.
        return SegmentScan([], 0, torn=len(data) > 0)
    records = list(_records(data))
    offset = len(MAGIC) + sum(_RECORD_HEADER.size + len(payload) for payload in records)
    return SegmentScan(records, offset, torn=offset < len(data))


def _records(data: bytes) -> Iterator[bytes]:
    offset = len(MAGIC)
    while offset + _RECORD_HEADER.size <= len(data):
        length, crc = _RECORD_HEADER.unpack_from(data, offset)
        start = offset + _RECORD_HEADER.size
        if length > MAX_RECORD_BYTES or start + length > len(data):
            return
        payload = data[start : start + length]
        if zlib.crc32(payload) != crc:
            return
        yield payload
        offset = start + length


def fsync_dir(directory: Path) -> None:
    """Make creations, renames and deletions in ``directory`` durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _Segment:
    """The open, growing segment file."""

    def __init__(self, directory: Path, seq: int) -> None:
        self.seq = seq
        self.path = directory / segment_name(seq)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
        self.fd = os.open(self.path, flags, 0o644)
        os.write(self.fd, MAGIC)
        os.fsync(self.fd)
        fsync_dir(directory)
        self.size = len(MAGIC)

    def write(self, records: list[bytes]) -> None:
        blob = b"".join(records)
        try:
            written = os.write(self.fd, blob)
            if written != len(blob):
                raise OSError(f"short write to {self.path}: {written} of {len(blob)} bytes")
            os.fsync(self.fd)
        except BaseException:
            # Best effort: cut off the part that reached the file (readers stop there anyway).
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, self.size)
            raise
        self.size += len(blob)

    def close(self) -> None:
        os.close(self.fd)


class WriteAheadLog:
    """Appends records to the segments of one directory; see the module docstring.

    ``first_seq`` numbers the first new segment; it must exceed every segment number ever
    used in the directory (the compactor knows the last one it deleted).

    >>> import tempfile
    >>> wal = WriteAheadLog(Path(tempfile.mkdtemp()), segment_bytes=4096, first_seq=1)
    >>> wal.append(b"first"), wal.append(b"second")
    (1, 1)
    >>> wal.roll()
    1
    >>> scan_segment(wal.segment_path(1)).records
    [b'first', b'second']
    """

    def __init__(self, directory: Path, segment_bytes: int, first_seq: int) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self._next_seq = max(first_seq, *(s + 1 for s in list_segments(self.directory)), 1)
        self._active: _Segment | None = None
        self._io = threading.Lock()  # held while writing or rolling the active segment
        self._lock = threading.Lock()  # guards the queue and the tickets below
        self._done = threading.Condition(self._lock)
        self._queue: list[bytes] = []
        self._next_ticket = 0
        self._landed: dict[int, int] = {}
        self._failed: dict[int, BaseException] = {}
        self._flushing = False

    def segment_path(self, seq: int) -> Path:
        """Where segment ``seq`` lives."""
        return self.directory / segment_name(seq)

    def append(self, payload: bytes) -> int:
        """Append one record; returns its segment once fsynced, raises if it could not be."""
        record = frame(payload)
        with self._lock:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._queue.append(record)
            while True:
                if ticket in self._failed:
                    raise self._failed.pop(ticket)
                if ticket in self._landed:
                    return self._landed.pop(ticket)
                if self._flushing:
                    self._done.wait()
                else:
                    self._flush_queue()

    def _flush_queue(self) -> None:
        """Write the queued records as one group; called and returns with ``_lock`` held."""
        records, self._queue = self._queue, []
        last = self._next_ticket - 1
        first = last - len(records) + 1
        self._flushing = True
        self._lock.release()
        outcome: int | Exception
        try:
            outcome = self._write(records)
        except Exception as failure:
            outcome = failure
        finally:
            self._lock.acquire()
            self._flushing = False
        tickets = range(first, last + 1)
        if isinstance(outcome, Exception):
            self._failed.update(dict.fromkeys(tickets, outcome))
        else:
            self._landed.update(dict.fromkeys(tickets, outcome))
        self._done.notify_all()

    def _write(self, records: list[bytes]) -> int:
        """Write and fsync ``records`` to the active segment; the segment's number."""
        with self._io:
            if self._active is None:
                seq, self._next_seq = self._next_seq, self._next_seq + 1
                self._active = _Segment(self.directory, seq)
            seq = self._active.seq
            try:
                self._active.write(records)
            except BaseException:
                # Never write after a failed write: the next record goes to a fresh segment.
                self._seal()
                raise
            if self._active.size >= self.segment_bytes:
                self._seal()
            return seq

    def roll(self) -> int | None:
        """Seal the active segment if it holds records; its number, or ``None``."""
        with self._io:
            if self._active is None or self._active.size <= len(MAGIC):
                return None
            return self._seal()

    def _seal(self) -> int:
        assert self._active is not None  # noqa: S101 - callers check
        seq = self._active.seq
        self._active.close()
        self._active = None
        return seq

    def sealed_segments(self) -> list[int]:
        """Numbers of the segments on disk that no longer grow, ascending."""
        with self._io:
            active = None if self._active is None else self._active.seq
            return [seq for seq in list_segments(self.directory) if seq != active]

    def close(self) -> None:
        """Seal the active segment; later appends start a new one."""
        with self._io:
            if self._active is not None:
                self._seal()
