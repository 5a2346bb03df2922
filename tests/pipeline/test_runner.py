"""The runner applies stages in order, fails open where told, and falls back between scorers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from palate.pipeline import Candidates, Pipeline, StageError
from palate.pipeline.candidates import BoolArray, FloatArray


@dataclass
class Query:
    limit: int


class Fixed:
    def __init__(self, name: str, positions: list[int], value: float = 1.0) -> None:
        self.name = name
        self.positions = positions
        self.value = value

    def fetch(self, query: Query) -> Candidates:
        positions = np.array(self.positions, dtype=np.int32)
        return Candidates(positions, {"value": np.full(len(positions), self.value)})


class Broken:
    def __init__(self, name: str) -> None:
        self.name = name

    def fetch(self, query: Query) -> Candidates:
        raise RuntimeError("down")

    def hydrate(self, query: Query, candidates: Candidates) -> dict[str, FloatArray]:
        raise RuntimeError("down")

    def score(self, query: Query, candidates: Candidates) -> FloatArray:
        raise RuntimeError("down")


class DropOdd:
    name = "drop_odd"

    def keep(self, query: Query, candidates: Candidates) -> BoolArray:
        return candidates.positions % 2 == 0


class ByPosition:
    name = "by_position"

    def score(self, query: Query, candidates: Candidates) -> FloatArray:
        return candidates.positions.astype(np.float64)


class Head:
    name = "head"

    def select(self, query: Query, candidates: Candidates) -> Candidates:
        return candidates.take(slice(0, query.limit))


def test_stages_run_in_order_and_are_traced() -> None:
    pipeline: Pipeline[Query] = Pipeline(
        name="t",
        sources=[Fixed("a", [1, 2, 3, 4]), Fixed("b", [4, 6, 8])],
        filters=[DropOdd()],
        scorers=[ByPosition()],
        selectors=[Head()],
    )
    result = pipeline.run(Query(limit=3))
    assert result.candidates.positions.tolist() == [8, 6, 4]
    assert [s.stage for s in result.trace.stages] == ["a", "b", "drop_odd", "by_position", "head"]
    filtered = result.trace.stages[2]
    assert (filtered.count_in, filtered.count_out) == (6, 4)
    assert not result.trace.degraded


def test_fail_open_source_is_skipped_and_marks_degraded() -> None:
    pipeline: Pipeline[Query] = Pipeline(
        name="t",
        sources=[Broken("flaky"), Fixed("a", [1, 2])],
        scorers=[ByPosition()],
        fail_open=frozenset({"flaky"}),
    )
    result = pipeline.run(Query(limit=5))
    assert result.candidates.positions.tolist() == [2, 1]
    assert result.trace.degraded
    assert result.trace.degraded_reasons == ["flaky:RuntimeError"]


def test_fail_closed_stage_raises() -> None:
    pipeline: Pipeline[Query] = Pipeline(name="t", sources=[Broken("core")], scorers=[ByPosition()])
    with pytest.raises(StageError, match="core"):
        pipeline.run(Query(limit=5))


def test_failed_scorer_falls_back_to_the_next() -> None:
    pipeline: Pipeline[Query] = Pipeline(
        name="t", sources=[Fixed("a", [3, 1, 2])], scorers=[Broken("learned"), ByPosition()]
    )
    result = pipeline.run(Query(limit=5))
    assert result.scorer == "by_position"
    assert result.candidates.positions.tolist() == [3, 2, 1]
    assert result.trace.degraded_reasons == ["learned:RuntimeError"]


def test_concat_keeps_first_occurrence_and_fills_missing_features() -> None:
    first = Candidates(np.array([5, 7], dtype=np.int32), {"x": np.array([1.0, 2.0])})
    second = Candidates(np.array([7, 9], dtype=np.int32), {"y": np.array([3.0, 4.0])})
    merged = Candidates.concat([first, second])
    assert merged.positions.tolist() == [5, 7, 9]
    assert merged.feature("x").tolist() == [1.0, 2.0, 0.0]
    assert merged.feature("y").tolist() == [0.0, 0.0, 4.0]


class KeepAll:
    name = "keep_all"

    def __init__(self, length_off_by: int = 0) -> None:
        self.length_off_by = length_off_by
        self.seen: list[Candidates] = []

    def keep(self, query: Query, candidates: Candidates) -> BoolArray:
        self.seen.append(candidates)
        return np.ones(len(candidates) + self.length_off_by, dtype=np.bool_)


def test_a_filter_that_removes_nothing_passes_the_same_candidates_on() -> None:
    first, second = KeepAll(), KeepAll()
    pipeline: Pipeline[Query] = Pipeline(
        name="t", sources=[Fixed("a", [3, 1, 2])], filters=[first, second], scorers=[ByPosition()]
    )
    result = pipeline.run(Query(limit=5))
    assert second.seen[0] is first.seen[0]  # no row index composed for an all-True mask
    assert result.candidates.positions.tolist() == [3, 2, 1]
    assert [(s.count_in, s.count_out) for s in result.trace.stages[1:3]] == [(3, 3), (3, 3)]


def test_a_filter_mask_of_the_wrong_length_is_still_an_error() -> None:
    pipeline: Pipeline[Query] = Pipeline(
        name="t", sources=[Fixed("a", [3, 1, 2])], filters=[KeepAll(1)], scorers=[ByPosition()]
    )
    with pytest.raises(StageError, match="keep_all"):
        pipeline.run(Query(limit=5))
