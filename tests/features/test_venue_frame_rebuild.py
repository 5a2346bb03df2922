"""A stale venue frame is rebuilt a slice per read, on the reading thread, and loses no write."""

from __future__ import annotations

import threading
import time

import numpy as np

from palate.features.base import Columns
from palate.features.venue_frame import VenueFeatureFrame
from palate.pipeline.id_lookup import Keys

UNIVERSE = np.array([f"v{k}" for k in range(5)], dtype=object)
ALL_ROWS = np.arange(5, dtype=np.intp)
NOW = 1_790_000_000.0


class Truth:
    """The store as the frame sees it: one value per venue, and which ids were computed."""

    def __init__(self) -> None:
        self.values = dict.fromkeys(UNIVERSE, 1.0)
        self.computed: list[list[str]] = []

    def __call__(self, venue_ids: Keys, now: float) -> Columns:
        ids = [str(v) for v in venue_ids]
        self.computed.append(ids)
        return {"x": np.array([self.values[v] for v in ids])}


def _frame(truth: Truth, max_age_s: float = 0.01) -> VenueFeatureFrame:
    frame = VenueFeatureFrame(truth, max_age_s, rebuild_slice=2)
    frame.columns(UNIVERSE, ALL_ROWS, NOW, 0)  # the first read builds it whole
    return frame


def _read(frame: VenueFeatureFrame) -> list[float]:
    return frame.columns(UNIVERSE, ALL_ROWS, NOW, 0)["x"].tolist()


def test_a_stale_frame_is_rebuilt_one_slice_per_read_and_swapped_when_complete() -> None:
    truth = Truth()
    frame = _frame(truth, max_age_s=0.05)
    truth.values = dict.fromkeys(UNIVERSE, 2.0)  # another replica's writes
    time.sleep(0.06)
    threads = threading.active_count()
    assert _read(frame) == [1.0] * 5  # slice 1 of 3 computed; the old frame answers
    assert _read(frame) == [1.0] * 5  # slice 2 of 3
    assert threading.active_count() == threads  # no thread: the reads did the work
    assert _read(frame) == [2.0] * 5  # the last slice completes and swaps in the new frame
    assert truth.computed[1:] == [["v0", "v1"], ["v2", "v3"], ["v4"]]
    assert frame.full_builds == 2


def test_a_write_to_rows_already_rebuilt_is_redone_before_the_swap() -> None:
    truth = Truth()
    frame = _frame(truth, max_age_s=0.05)
    time.sleep(0.06)
    _read(frame)  # v0 and v1 recomputed at value 1
    truth.values["v0"] = 5.0
    frame.touch(["v0"])  # this process's own write
    assert _read(frame)[0] == 5.0  # patched into the frame being served at once
    assert _read(frame) == [5.0, 1.0, 1.0, 1.0, 1.0]  # and kept by the rebuilt frame


def test_an_overdue_rebuild_is_finished_by_the_next_read() -> None:
    truth = Truth()
    frame = _frame(truth, max_age_s=0.05)
    truth.values = dict.fromkeys(UNIVERSE, 3.0)
    time.sleep(0.06)
    assert _read(frame) == [1.0] * 5  # one slice, then little traffic
    time.sleep(0.06)
    assert _read(frame) == [3.0] * 5  # the rest at once: never more than ~max_age behind
    assert truth.computed[-1] == ["v2", "v3", "v4"]


def test_without_refresh_a_frame_that_still_serves_is_kept() -> None:
    truth = Truth()
    frame = VenueFeatureFrame(truth, 0.01, refresh=False, rebuild_slice=2)
    frame.columns(UNIVERSE, ALL_ROWS, NOW, 0)
    truth.values = dict.fromkeys(UNIVERSE, 4.0)
    time.sleep(0.02)
    assert _read(frame) == [1.0] * 5
    assert frame.full_builds == 1
