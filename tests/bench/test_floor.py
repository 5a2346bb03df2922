"""The idle pipeline of ``palate bench --stages``: the same stages, traced, doing no work."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from palate.bench.floor import idle_pipeline, idled
from palate.pipeline import Pipeline
from palate.pipeline.candidates import BoolArray, Candidates, FloatArray


@dataclass
class Query:
    limit: int = 3


@dataclass
class Calls:
    made: list[str] = field(default_factory=list)


class Rows:
    name = "rows"

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    def fetch(self, query: Query) -> Candidates:
        self.calls.made.append(self.name)
        return Candidates(np.arange(10, dtype=np.int32), {"x": np.arange(10.0)})


class Odd:
    name = "odd"

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    def keep(self, query: Query, candidates: Candidates) -> BoolArray:
        self.calls.made.append(self.name)
        result: BoolArray = candidates.positions % 2 == 1
        return result


class Doubled:
    name = "doubled"

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    def hydrate(self, query: Query, candidates: Candidates) -> dict[str, FloatArray]:
        self.calls.made.append(self.name)
        return {"y": 2 * candidates.feature("x")}


class ByY:
    name = "by_y"

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    def score(self, query: Query, candidates: Candidates) -> FloatArray:
        self.calls.made.append(self.name)
        return candidates.feature("y")


class Head:
    name = "head"

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    def select(self, query: Query, candidates: Candidates) -> Candidates:
        self.calls.made.append(self.name)
        return candidates.take(slice(0, query.limit))


def pipeline(calls: Calls) -> Pipeline[Query]:
    return Pipeline(
        name="toy",
        sources=[Rows(calls)],
        filters=[Odd(calls)],
        hydrators=[Doubled(calls)],
        scorers=[ByY(calls)],
        selectors=[Head(calls)],
    )


def test_the_idle_pipeline_traces_the_same_stages_and_does_none_of_their_work() -> None:
    calls = Calls()
    real = pipeline(calls)
    idle = idle_pipeline(real)
    first = idle.run(Query())
    assert calls.made == ["rows", "odd", "doubled", "by_y", "head", "rows"]  # one real run
    again = idle.run(Query())
    assert calls.made == ["rows", "odd", "doubled", "by_y", "head", "rows"]  # nothing more
    for result in (first, again):
        assert [s.stage for s in result.trace.stages] == ["rows", "odd", "doubled", "by_y", "head"]
        assert [s.kind for s in result.trace.stages] == [
            "source",
            "filter",
            "hydrator",
            "scorer",
            "selector",
        ]
        # as many as the real pipeline answered (3), from the source's unfiltered rows
        assert result.candidates.positions.tolist() == [0, 1, 2]
        assert "y" not in result.candidates.features
    assert real.run(Query()).candidates.positions.tolist() == [9, 7, 5]  # the real one is intact


@dataclass
class State:
    cart: Pipeline[Query]


def test_idled_swaps_the_scenario_pipeline_only_within_the_block() -> None:
    real = pipeline(Calls())
    state = State(real)
    seen: list[Pipeline[Query]] = []

    def fail_inside() -> None:
        with idled(state, "cart"):
            seen.append(state.cart)
            raise RuntimeError("inside")

    with pytest.raises(RuntimeError, match="inside"):
        fail_inside()
    assert seen[0] is not real
    assert [s.name for s in seen[0].scorers] == ["by_y"]
    assert state.cart is real
