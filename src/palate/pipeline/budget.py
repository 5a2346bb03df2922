"""Latency budgets and the last-good-result fallback of a pipeline.

Two ways to hold a budget. CPU-bound stages (the default) run inline: a thread hop costs more
than the feature read it would guard, and an abandoned CPU-bound thread keeps the GIL busy
anyway. Their overruns are measured; a scorer's late result is discarded (the next scorer of
the chain answers) and an :class:`OverrunBreaker` skips a stage that keeps overrunning for a
cool-down, so a slow model or store costs a few requests, not all of them. Stages that block
on I/O (``blocking = True``) run on a small worker pool and are abandoned when they overrun;
the pool is small on purpose: stuck calls fill it, and then new calls time out while queued
instead of piling up threads.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import copy_context
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from palate.pipeline.candidates import Candidates

T = TypeVar("T")
Q = TypeVar("Q")
WORKERS = 8

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


class OverrunBreaker:
    """Per stage: after ``trip_after`` consecutive overruns, refuse the stage for ``cooldown_s``.

    >>> breaker = OverrunBreaker(trip_after=2, cooldown_s=60)
    >>> breaker.record("s", overran=True); breaker.is_open("s")
    False
    >>> breaker.record("s", overran=True); breaker.is_open("s")
    True
    """

    def __init__(self, trip_after: int = 3, cooldown_s: float = 5.0) -> None:
        self.trip_after = trip_after
        self.cooldown_s = cooldown_s
        self._overruns: dict[str, int] = {}
        self._open_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def is_open(self, stage: str) -> bool:
        """True while the stage is being skipped."""
        return time.monotonic() < self._open_until.get(stage, 0.0)

    def record(self, stage: str, *, overran: bool) -> None:
        """Count an overrun (tripping the breaker at the threshold) or reset on a good run."""
        with self._lock:
            count = self._overruns.get(stage, 0) + 1 if overran else 0
            self._overruns[stage] = count
            if count >= self.trip_after:
                self._open_until[stage] = time.monotonic() + self.cooldown_s
                self._overruns[stage] = 0


class CircuitOpenError(RuntimeError):
    """A stage is skipped because it kept overrunning its budget."""

    def __init__(self, stage: str) -> None:
        super().__init__(f"stage {stage!r} skipped: it kept overrunning its budget")
        self.stage = stage


class BudgetExceededError(TimeoutError):
    """A stage did not finish within its latency budget."""

    def __init__(self, stage: str, budget_us: float) -> None:
        super().__init__(f"stage {stage!r} overran its budget of {budget_us:.0f} µs")
        self.stage = stage
        self.budget_us = budget_us


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="palate-budget")
        return _pool


def run_within(stage: str, budget_us: float, action: Callable[[], T]) -> T:
    """``action()`` if it finishes within ``budget_us``, else :class:`BudgetExceededError`.

    Context variables the action sets (e.g. which model served) are copied back on success.
    A result that arrives late is discarded too, so the budget holds for CPU-bound actions.

    >>> run_within("double", 1_000_000, lambda: 2 * 21)
    42
    """
    context = copy_context()
    started = time.perf_counter_ns()
    future = _executor().submit(context.run, action)
    try:
        result = future.result(timeout=budget_us / 1_000_000)
    except FutureTimeout:
        future.cancel()  # still queued behind stuck calls: never start it
        raise BudgetExceededError(stage, budget_us) from None
    # A CPU-bound action holding the GIL can finish before the waiter wakes: still an overrun.
    if (time.perf_counter_ns() - started) / 1_000 > budget_us:
        raise BudgetExceededError(stage, budget_us)
    for var, value in context.items():
        var.set(value)
    return result


def run_inline(stage: str, budget_us: float, breaker: OverrunBreaker, action: Callable[[], T]) -> T:
    """``action()`` in this thread; :class:`BudgetExceededError` (result dropped) if it overran,
    :class:`CircuitOpenError` without running it while the breaker is open.

    >>> run_inline("double", 1_000_000, OverrunBreaker(), lambda: 2 * 21)
    42
    """
    if breaker.is_open(stage):
        raise CircuitOpenError(stage)
    started = time.perf_counter_ns()
    result = action()
    overran = (time.perf_counter_ns() - started) / 1_000 > budget_us
    breaker.record(stage, overran=overran)
    if overran:
        raise BudgetExceededError(stage, budget_us)
    return result


def compacted(candidates: Candidates) -> Candidates:
    """The same rows, scores and columns in arrays of their own (no views into larger ones).

    >>> big = np.arange(1_000.0)
    >>> top = Candidates(np.arange(1_000, dtype=np.int32), {"x": big}).take(slice(0, 2))
    >>> small = compacted(top)
    >>> small.feature("x").tolist(), np.shares_memory(small.feature("x"), big)
    ([0.0, 1.0], False)
    """
    return Candidates(
        candidates.positions.copy(),
        {name: np.array(column) for name, column in candidates.features.items()},
        None if candidates.scores is None else candidates.scores.copy(),
    )


@dataclass(frozen=True, slots=True)
class Remembered:
    """A good result and when it was stored (monotonic seconds)."""

    candidates: Candidates
    scorer: str
    stored_at: float


class LastGood(Generic[Q]):
    """The last non-degraded result per key (e.g. a location cell), bounded and expiring.

    A result is stored as a compact copy of its own rows: a pipeline's result is a view into
    every column it hydrated for all its candidates (~240 KB for a Discovery request over
    1,000 venues), which at 10,000 cells would hold gigabytes. Copying costs a gather per
    column, so a key's entry is refreshed at most every ``refresh_s``.

    >>> import numpy as np
    >>> cache: LastGood[str] = LastGood(key=lambda q: q, capacity=1, ttl_s=60)
    >>> cache.remember("a", Candidates(np.array([4, 2], dtype=np.int32)), "heuristic")
    >>> cache.recall("a").candidates.positions.tolist(), cache.recall("b")
    ([4, 2], None)
    """

    def __init__(
        self,
        key: Callable[[Q], Hashable],
        *,
        capacity: int = 10_000,
        ttl_s: float = 300.0,
        refresh_s: float | None = None,
    ) -> None:
        self.key = key
        self.capacity = capacity
        self.ttl_s = ttl_s
        self.refresh_s = ttl_s / 10 if refresh_s is None else refresh_s
        self._entries: OrderedDict[Hashable, Remembered] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, query: Q, candidates: Candidates, scorer: str) -> None:
        """Store a good result for the query's key (unless stored within ``refresh_s``),
        evicting the least recently stored."""
        key, now = self.key(query), time.monotonic()
        with self._lock:
            known = self._entries.get(key)
        if known is not None and now - known.stored_at < self.refresh_s:
            return
        entry = Remembered(compacted(candidates), scorer, now)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def recall(self, query: Q) -> Remembered | None:
        """The stored result for the query's key, if there is one younger than the TTL."""
        with self._lock:
            entry = self._entries.get(self.key(query))
        if entry is None or time.monotonic() - entry.stored_at > self.ttl_s:
            return None
        return entry
