"""Budgets and fallbacks: overruns and failures hand over down the chain, then to the last good."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pytest

from palate.pipeline import Candidates, Pipeline, StageError
from palate.pipeline.budget import LastGood, OverrunBreaker
from palate.pipeline.candidates import FloatArray


@dataclass(frozen=True)
class Query:
    cell: str


class Fixed:
    name = "fixed"

    def fetch(self, query: Query) -> Candidates:
        return Candidates(np.array([0, 1, 2], dtype=np.int32))


class Ascending:
    """Ranks 2, 1, 0 (highest position first)."""

    name = "ascending"

    def score(self, query: Query, candidates: Candidates) -> FloatArray:
        return candidates.positions.astype(np.float64)


class Descending:
    """Ranks 0, 1, 2."""

    name = "descending"

    def score(self, query: Query, candidates: Candidates) -> FloatArray:
        return -candidates.positions.astype(np.float64)


class Sleepy:
    """Waits like a remote call: declared blocking, so its budget abandons it on a thread."""

    name = "sleepy"
    blocking = True

    def score(self, query: Query, candidates: Candidates) -> FloatArray:
        time.sleep(0.5)
        return np.zeros(len(candidates))


class Busy:
    """CPU-bound and slow: runs inline, so its overrun is measured after the fact."""

    name = "busy"

    def __init__(self) -> None:
        self.calls = 0

    def score(self, query: Query, candidates: Candidates) -> FloatArray:
        self.calls += 1
        deadline = time.perf_counter() + 0.02
        while time.perf_counter() < deadline:
            pass
        return np.zeros(len(candidates))


class SlowFeatures:
    name = "slow_features"

    def __init__(self) -> None:
        self.calls = 0

    def hydrate(self, query: Query, candidates: Candidates) -> dict[str, FloatArray]:
        self.calls += 1
        time.sleep(0.01)
        return {"x": np.ones(len(candidates))}


@dataclass
class Switch:
    """Raises while ``broken``; otherwise scores like :class:`Ascending`."""

    name: str
    broken: bool = False

    def score(self, query: Query, candidates: Candidates) -> FloatArray:
        if self.broken:
            raise RuntimeError("down")
        return candidates.positions.astype(np.float64)


def test_scorer_over_budget_hands_over_to_the_next() -> None:
    pipeline: Pipeline[Query] = Pipeline(
        name="t", sources=[Fixed()], scorers=[Sleepy(), Descending()], budgets_us={"sleepy": 20_000}
    )
    started = time.perf_counter()
    result = pipeline.run(Query("a"))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.3  # did not wait for the 0.5 s sleeper
    assert result.scorer == "descending"
    assert result.candidates.positions.tolist() == [0, 1, 2]
    assert result.trace.degraded
    assert result.trace.degraded_reasons == ["sleepy:BudgetExceededError"]


def test_scorer_within_budget_serves() -> None:
    pipeline: Pipeline[Query] = Pipeline(
        name="t",
        sources=[Fixed()],
        scorers=[Ascending(), Descending()],
        budgets_us={"ascending": 1_000_000},
    )
    result = pipeline.run(Query("a"))
    assert result.scorer == "ascending"
    assert not result.trace.degraded


def test_raising_scorer_hands_over_to_the_next() -> None:
    pipeline: Pipeline[Query] = Pipeline(
        name="t", sources=[Fixed()], scorers=[Switch("learned", broken=True), Descending()]
    )
    result = pipeline.run(Query("a"))
    assert result.scorer == "descending"
    assert result.trace.degraded_reasons == ["learned:RuntimeError"]


def test_every_scorer_failing_serves_the_last_good_result_for_the_key() -> None:
    first, second = Switch("heuristic"), Switch("proximity")
    pipeline: Pipeline[Query] = Pipeline(
        name="t",
        sources=[Fixed()],
        scorers=[first, second],
        last_good=LastGood(key=lambda q: q.cell, ttl_s=60),
    )
    good = pipeline.run(Query("a"))
    assert not good.trace.degraded
    first.broken = second.broken = True
    fallback = pipeline.run(Query("a"))
    assert fallback.scorer == "last_good"
    assert fallback.candidates.positions.tolist() == good.candidates.positions.tolist() == [2, 1, 0]
    assert fallback.trace.degraded
    assert "last_good:StageError" in fallback.trace.degraded_reasons
    with pytest.raises(StageError, match="scorers"):  # nothing remembered for this cell
        pipeline.run(Query("other-cell"))


def test_degraded_results_are_not_remembered() -> None:
    broken = Switch("learned", broken=True)
    cache: LastGood[Query] = LastGood(key=lambda q: q.cell)
    pipeline: Pipeline[Query] = Pipeline(
        name="t", sources=[Fixed()], scorers=[broken, Descending()], last_good=cache
    )
    pipeline.run(Query("a"))
    assert cache.recall(Query("a")) is None


def test_last_good_expires() -> None:
    cache: LastGood[Query] = LastGood(key=lambda q: q.cell, ttl_s=0.01)
    cache.remember(Query("a"), Candidates(np.array([1], dtype=np.int32)), "x")
    time.sleep(0.02)
    assert cache.recall(Query("a")) is None


def test_inline_scorer_over_budget_is_discarded_then_skipped_by_the_breaker() -> None:
    busy = Busy()
    pipeline: Pipeline[Query] = Pipeline(
        name="t",
        sources=[Fixed()],
        scorers=[busy, Descending()],
        budgets_us={"busy": 5_000},
        breaker=OverrunBreaker(trip_after=2, cooldown_s=60),
    )
    reasons = [pipeline.run(Query("a")).trace.degraded_reasons for _ in range(4)]
    assert reasons[:2] == [["busy:BudgetExceededError"]] * 2  # ran, overran, result dropped
    assert reasons[2:] == [["busy:CircuitOpenError"]] * 2  # tripped: not even run
    assert busy.calls == 2


def test_a_fail_open_hydrator_keeps_late_features_until_it_keeps_being_late() -> None:
    slow = SlowFeatures()
    pipeline: Pipeline[Query] = Pipeline(
        name="t",
        sources=[Fixed()],
        hydrators=[slow],
        scorers=[Descending()],
        fail_open=frozenset({"slow_features"}),
        budgets_us={"slow_features": 1_000},
        breaker=OverrunBreaker(trip_after=3, cooldown_s=60),
    )
    first = pipeline.run(Query("a"))
    assert "x" in first.candidates.features  # one late answer is still used
    assert first.trace.stages[1].over_budget
    for _ in range(2):
        pipeline.run(Query("a"))
    skipped = pipeline.run(Query("a"))
    assert "x" not in skipped.candidates.features
    assert skipped.trace.degraded_reasons == ["slow_features:CircuitOpenError"]
    assert slow.calls == 3


def test_last_good_keeps_a_compact_copy_and_refreshes_a_key_at_most_every_refresh_s() -> None:
    column = np.arange(1_000.0)
    wide = Candidates(np.arange(1_000, dtype=np.int32), {"x": column}, column * 2)
    cache: LastGood[Query] = LastGood(key=lambda q: q.cell, ttl_s=60, refresh_s=0.05)
    cache.remember(Query("a"), wide.take(slice(0, 3)), "first")
    kept = cache.recall(Query("a"))
    assert kept is not None
    assert kept.candidates.positions.tolist() == [0, 1, 2]
    assert kept.candidates.feature("x").tolist() == [0.0, 1.0, 2.0]
    assert kept.candidates.scores is not None
    assert kept.candidates.scores.tolist() == [0.0, 2.0, 4.0]
    assert not np.shares_memory(kept.candidates.feature("x"), column)  # not a view of it all
    cache.remember(Query("a"), wide.take(slice(5, 6)), "too soon")
    assert cache.recall(Query("a")).scorer == "first"  # type: ignore[union-attr]
    time.sleep(0.06)
    cache.remember(Query("a"), wide.take(slice(5, 6)), "later")
    assert cache.recall(Query("a")).scorer == "later"  # type: ignore[union-attr]
