"""Concurrent single-event batches are applied in groups, each exactly once, before replying."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from palate.serving.group_apply import GroupApplier


def test_waiting_batches_are_applied_together_exactly_once_before_their_callers_return() -> None:
    applied: list[int] = []
    first_started, release_first = threading.Event(), threading.Event()

    def apply(table: pa.Table) -> None:
        if not applied and not first_started.is_set():
            first_started.set()
            release_first.wait(5)  # hold the lock while the others queue up
        applied.extend(table.column("x").to_pylist())

    group = GroupApplier(apply)
    returned_with: dict[int, bool] = {}

    def send(x: int) -> None:
        group.apply(pa.table({"x": [x]}))
        returned_with[x] = x in applied  # applied before the caller got its reply

    first = threading.Thread(target=send, args=(0,))
    first.start()
    assert first_started.wait(5)
    others = [threading.Thread(target=send, args=(x,)) for x in range(1, 21)]
    for thread in others:
        thread.start()
    while len(group._queue) < 20:  # every other sender has queued behind the lock
        threading.Event().wait(0.001)
    release_first.set()
    for thread in [first, *others]:
        thread.join(5)
    assert sorted(applied) == list(range(21))  # each exactly once
    assert all(returned_with[x] for x in range(21))
    assert group.groups == 2  # the first alone, then the twenty queued ones in one group


def test_an_apply_error_reaches_its_caller_and_leaves_the_applier_usable() -> None:
    calls: list[int] = []

    def flaky(table: pa.Table) -> None:
        calls.append(table.num_rows)
        if len(calls) == 1:
            raise RuntimeError("boom")

    group = GroupApplier(flaky)
    with pytest.raises(RuntimeError, match="boom"):
        group.apply(pa.table({"x": [1]}))
    group.apply(pa.table({"x": [2, 3]}))  # would block forever if the lock were still held
    assert calls == [1, 2]
