"""Hydrators that plan their reads share one store round trip, and fail as before without it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from palate.pipeline import Candidates, Pipeline
from palate.pipeline.budget import OverrunBreaker
from palate.pipeline.candidates import FloatArray
from palate.pipeline.stages import Finish


@dataclass
class Query:
    limit: int = 10


class Source:
    name = "source"

    def fetch(self, query: Query) -> Candidates:
        return Candidates(np.arange(4, dtype=np.int32), {})


class Keep:
    name = "keep"

    def score(self, query: Query, candidates: Candidates) -> FloatArray:
        return -candidates.positions.astype(np.float64)


@dataclass
class Store:
    """A key → value store counting its round trips; ``down`` makes every read fail, ``delay_s``
    makes every read that slow."""

    values: dict[str, float]
    down: bool = False
    delay_s: float = 0.0
    reads: list[list[str]] = field(default_factory=list)

    def read(self, keys: list[str]) -> dict[str, float]:
        if self.down:
            raise ConnectionError("store down")
        time.sleep(self.delay_s)
        self.reads.append(list(keys))
        return {key: self.values[key] for key in keys}


class Reads:
    name = "feature_reads"

    def __init__(self, store: Store) -> None:
        self.store = store

    def batch(self) -> list[str]:
        return []

    def read(self, query: Query, batch: list[str]) -> dict[str, float]:
        return self.store.read(batch)


class Planned:
    """Column ``key`` filled with the store's value of ``key``."""

    def __init__(self, key: str, store: Store, plan_fails: bool = False) -> None:
        self.name, self.key, self.store, self.plan_fails = key, key, store, plan_fails

    def hydrate(self, query: Query, candidates: Candidates) -> dict[str, FloatArray]:
        return self._columns(self.store.read([self.key]), len(candidates))

    def plan(self, query: Query, candidates: Candidates, reads: list[str]) -> Finish:
        if self.plan_fails:
            raise ValueError("cannot plan")
        reads.append(self.key)
        return lambda results: self._columns(results, len(candidates))

    def _columns(self, results: Any, rows: int) -> dict[str, FloatArray]:
        return {self.key: np.full(rows, results[self.key])}


def pipeline(
    store: Store, hydrators: list[Any], fail_open: set[str], **budgeted: Any
) -> Pipeline[Query]:
    return Pipeline(
        name="t",
        sources=[Source()],
        hydrators=hydrators,
        scorers=[Keep()],
        fail_open=frozenset(fail_open),
        shared_reads=Reads(store),
        **budgeted,
    )


def test_planned_hydrators_share_one_read_traced_before_them() -> None:
    store = Store({"a": 1.0, "b": 2.0})
    result = pipeline(store, [Planned("a", store), Planned("b", store)], set()).run(Query())
    assert store.reads == [["a", "b"]]
    assert result.candidates.features["a"].tolist() == [1.0] * 4
    assert result.candidates.features["b"].tolist() == [2.0] * 4
    stages = [(s.stage, s.kind) for s in result.trace.stages]
    assert stages[1:4] == [("feature_reads", "reads"), ("a", "hydrator"), ("b", "hydrator")]


def test_a_hydrator_that_cannot_plan_reads_on_its_own() -> None:
    store = Store({"a": 1.0, "b": 2.0})
    hydrators = [Planned("a", store), Planned("b", store, plan_fails=True)]
    result = pipeline(store, hydrators, set()).run(Query())
    assert store.reads == [["a"], ["b"]]
    assert result.candidates.features["b"].tolist() == [2.0] * 4


def test_a_failed_shared_read_fails_each_planned_hydrator_once_in_its_stage() -> None:
    store = Store({"a": 1.0, "b": 2.0}, down=True)
    hydrators = [Planned("a", store), Planned("b", store)]
    result = pipeline(store, hydrators, {"a", "b"}).run(Query())
    failed = {s.stage: s.error for s in result.trace.stages if s.error}
    assert failed == {
        "feature_reads": "ConnectionError",
        "a": "ConnectionError",
        "b": "ConnectionError",
    }
    assert "a" not in result.candidates.features  # failed open: the ranking goes on without it
    assert result.candidates.positions.tolist() == [0, 1, 2, 3]


def test_without_shared_reads_each_hydrator_reads_alone() -> None:
    store = Store({"a": 1.0, "b": 2.0})
    plain: Pipeline[Query] = Pipeline(
        name="t",
        sources=[Source()],
        hydrators=[Planned("a", store), Planned("b", store)],
        scorers=[Keep()],
    )
    plain.run(Query())
    assert store.reads == [["a"], ["b"]]


def test_a_habitually_slow_shared_read_trips_the_budgeted_hydrators_it_serves() -> None:
    """A planned hydrator's lateness counts the read it waited on, as when it read alone."""
    store = Store({"a": 1.0, "b": 2.0}, delay_s=0.005)
    slow = pipeline(
        store,
        [Planned("a", store), Planned("b", store)],
        {"a"},
        budgets_us={"a": 1_000.0},  # 1 ms: every 5 ms read overruns it; b has no budget
        breaker=OverrunBreaker(trip_after=2, cooldown_s=60),
    )
    slow.run(Query())
    slow.run(Query())
    assert store.reads == [["a", "b"], ["a", "b"]]
    skipped = slow.run(Query())
    assert store.reads[-1] == ["b"]  # the open breaker keeps a out of the read
    assert {s.stage: s.error for s in skipped.trace.stages}["a"] == "CircuitOpenError"
    assert "a" not in skipped.candidates.features


def test_a_caller_adds_its_reads_to_the_same_round_trip() -> None:
    store = Store({"a": 1.0, "tile": 7.0})
    result = pipeline(store, [Planned("a", store)], set()).run(
        Query(), also_read=lambda reads: reads.append("tile")
    )
    assert store.reads == [["a", "tile"]]
    assert result.reads["tile"] == 7.0


def test_a_caller_whose_planning_fails_gets_no_results_and_the_ranking_stands() -> None:
    store = Store({"a": 1.0})

    def broken(reads: list[str]) -> None:
        raise KeyError("tile")

    result = pipeline(store, [Planned("a", store)], set()).run(Query(), also_read=broken)
    assert result.reads is None  # the caller reads on its own
    assert store.reads == [["a"]]
    assert result.candidates.features["a"].tolist() == [1.0] * 4


def test_a_failed_shared_read_gives_the_caller_no_results() -> None:
    store = Store({"a": 1.0, "tile": 7.0}, down=True)
    result = pipeline(store, [Planned("a", store)], {"a"}).run(
        Query(), also_read=lambda reads: reads.append("tile")
    )
    assert result.reads is None


def test_a_lone_planned_hydrator_reads_in_its_own_stage() -> None:
    store = Store({"a": 1.0})
    result = pipeline(store, [Planned("a", store)], set()).run(Query())
    assert store.reads == [["a"]]
    assert "feature_reads" not in [s.stage for s in result.trace.stages]
    assert result.reads is None
