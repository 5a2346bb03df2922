"""Accepted batches are applied in groups, each exactly once: waiting callers, the interval."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

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


def _applied_rows(applied: list[int]) -> Callable[[pa.Table], None]:
    def apply(table: pa.Table) -> None:
        applied.extend(table.column("x").to_pylist())

    return apply


def test_a_lone_batch_goes_at_once_and_later_ones_wait_for_the_interval_as_one_group() -> None:
    applied: list[int] = []
    group = GroupApplier(_applied_rows(applied), interval_s=3600.0)
    group.start()
    first = group.submit(pa.table({"x": [0]}))
    waiter = threading.Thread(target=group.wait, args=(first,))
    waiter.start()
    waiter.join(5)
    assert not waiter.is_alive(), "a batch after a quiet spell is applied without waiting"
    for x in range(1, 6):
        group.submit(pa.table({"x": [x]}))
    assert group.pending == 5, "the interval holds them back"
    assert applied == [0]
    group.stop()  # applies what is queued before returning
    assert applied == list(range(6))
    assert group.groups == 2
    assert group.pending == 0


def test_an_awaited_ticket_resolves_once_its_group_is_applied() -> None:
    applied: list[int] = []
    group = GroupApplier(_applied_rows(applied), interval_s=3600.0)
    group.start()

    async def scenario() -> None:
        await group.applied(group.submit(pa.table({"x": [1]})))
        assert applied == [1]
        held = asyncio.ensure_future(group.applied(group.submit(pa.table({"x": [2]}))))
        for _ in range(10):
            await asyncio.sleep(0)
        assert not held.done(), "waiting for the interval"
        await asyncio.to_thread(group.stop)
        await asyncio.wait_for(held, 5)
        assert applied == [1, 2]

    asyncio.run(scenario())


def test_without_the_thread_a_submitted_batch_is_applied_before_submit_returns() -> None:
    applied: list[int] = []
    group = GroupApplier(_applied_rows(applied), interval_s=0.0)
    group.submit(pa.table({"x": [7]}))
    assert applied == [7]


def test_apply_is_not_paced_so_the_stream_worker_and_the_replay_do_not_crawl() -> None:
    applied: list[int] = []
    group = GroupApplier(_applied_rows(applied), interval_s=3600.0)

    def one_at_a_time() -> None:
        for x in range(3):
            group.apply(pa.table({"x": [x]}))

    worker = threading.Thread(target=one_at_a_time)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "each apply went at once despite the interval"
    assert applied == [0, 1, 2]
