"""The write-ahead log: framing, torn tails, group commit, segment numbering, lane locks."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from palate.events.lanes import Lane
from palate.events.wal import MAGIC, WriteAheadLog, list_segments, scan_segment, segment_name


def _payloads(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randrange(1, 300)) for _ in range(count)]


def test_records_round_trip_across_rolled_segments(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=2_000, first_seq=5)
    payloads = _payloads(60, seed=1)
    landed = [wal.append(payload) for payload in payloads]
    wal.close()
    segments = list_segments(tmp_path)
    assert segments[0] == 5
    assert len(segments) > 3, "segments roll once they reach segment_bytes"
    assert landed == sorted(landed)
    read = [
        record for seq in segments for record in scan_segment(tmp_path / segment_name(seq)).records
    ]
    assert read == payloads
    for seq in segments[:-1]:
        assert (tmp_path / segment_name(seq)).stat().st_size >= 2_000


def test_a_new_log_never_reuses_a_segment_number(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=10_000, first_seq=1)
    wal.append(b"a")
    wal.close()
    # Reopened over leftovers, and after everything below 10 was compacted away.
    assert WriteAheadLog(tmp_path, 10_000, first_seq=1).append(b"b") == 2
    for seq in list_segments(tmp_path):
        (tmp_path / segment_name(seq)).unlink()
    assert WriteAheadLog(tmp_path, 10_000, first_seq=10).append(b"c") == 10


def test_roll_seals_only_a_segment_with_records(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=10_000, first_seq=1)
    assert wal.roll() is None
    assert list_segments(tmp_path) == [], "an idle log creates no files"
    wal.append(b"x")
    assert wal.sealed_segments() == []
    assert wal.roll() == 1
    assert wal.sealed_segments() == [1]
    assert wal.append(b"y") == 2


def _three_records(tmp_path: Path) -> tuple[Path, list[bytes], int]:
    wal = WriteAheadLog(tmp_path, segment_bytes=1 << 20, first_seq=1)
    payloads = [b"first" * 10, b"second" * 10, b"third" * 10]
    for payload in payloads:
        wal.append(payload)
    wal.close()
    path = tmp_path / segment_name(1)
    last_start = path.stat().st_size - (8 + len(payloads[-1]))
    return path, payloads, last_start


def test_every_torn_cut_of_the_last_record_is_ignored(tmp_path: Path) -> None:
    path, payloads, last_start = _three_records(tmp_path)
    whole = path.read_bytes()
    for cut in range(last_start, len(whole)):
        path.write_bytes(whole[:cut])
        scan = scan_segment(path)
        assert scan.records == payloads[:2], cut
        assert scan.torn == (cut > last_start)
        assert scan.valid_bytes == last_start
    path.write_bytes(whole)
    assert scan_segment(path).records == payloads


def test_a_corrupt_last_record_fails_its_crc(tmp_path: Path) -> None:
    path, payloads, _ = _three_records(tmp_path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    scan = scan_segment(path)
    assert scan.records == payloads[:2]
    assert scan.torn


def test_garbage_after_the_records_and_a_torn_magic(tmp_path: Path) -> None:
    path, payloads, _ = _three_records(tmp_path)
    with path.open("ab") as handle:
        handle.write(b"\xff\xff\xff\x7f" + b"zz")  # a length far past the end
    assert scan_segment(path).records == payloads
    assert scan_segment(path).torn
    path.write_bytes(MAGIC[:3])
    assert scan_segment(path).records == []


def test_group_commit_under_concurrency_keeps_every_record_once(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=50_000, first_seq=1)
    landed: dict[bytes, int] = {}
    lock = threading.Lock()

    def writer(worker: int) -> None:
        for i in range(150):
            payload = f"{worker}:{i}".encode() * 5
            seq = wal.append(payload)
            with lock:
                landed[payload] = seq

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wal.close()
    found: dict[bytes, int] = {}
    for seq in list_segments(tmp_path):
        for record in scan_segment(tmp_path / segment_name(seq)).records:
            assert record not in found, "no record is written twice"
            found[record] = seq
    assert found == landed, "each append reports the segment its record is durable in"
    for worker in range(8):  # one writer's records keep its order
        mine = [r for r in found if r.startswith(f"{worker}:".encode())]
        assert mine == [f"{worker}:{i}".encode() * 5 for i in range(150)]


def test_a_failed_write_raises_and_later_appends_still_work(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=10_000, first_seq=1)
    (tmp_path / segment_name(1)).mkdir()  # the next segment cannot be created
    with pytest.raises(OSError, match="seg-"):
        wal.append(b"lost")
    assert wal.append(b"kept") == 2
    wal.close()
    assert scan_segment(tmp_path / segment_name(2)).records == [b"kept"]


def test_lanes_are_exclusive_and_freed_when_the_holder_is_killed(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from palate.events.lanes import Lane; "
            "lane = Lane.acquire(Path(sys.argv[1])); print(lane.path.name, flush=True); "
            "time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "lane-0"
        other = Lane.acquire(tmp_path)
        assert other.path.name == "lane-1"
        assert Lane.try_lock(tmp_path / "lane-0") is None
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 5
        taken = Lane.try_lock(tmp_path / "lane-0")
        while taken is None and time.monotonic() < deadline:
            time.sleep(0.05)
            taken = Lane.try_lock(tmp_path / "lane-0")
        assert taken is not None, "the kernel drops a killed holder's lock"
        taken.release()
        other.release()
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
