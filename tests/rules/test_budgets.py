"""Budgets and fallbacks: overruns and failures hand over down the chain, then to the last good."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pytest

from palate.pipeline import Candidates, Pipeline, StageError
from palate.pipeline.budget import LastGood
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
    name = "sleepy"

    def score(self, query: Query, candidates: Candidates) -> FloatArray:
        time.sleep(0.5)
        return np.zeros(len(candidates))


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
