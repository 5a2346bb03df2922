"""What a premise's request costs with no ranking work in it: the floor of the served path.

``palate bench --stages`` swaps each scenario's pipeline for :func:`idle_pipeline` — the same
stages by name and kind, in the same order, each doing nothing — and times the same requests
again. What is left is the runner (timing, trace records, budgets), the fast lane's body
parsing, the handler's query and response rows, JSON, request id and metrics: the part of a
request no faster ranking can remove. A throughput target whose CPU budget per request is
under this floor plus HTTP cannot be met by this serving path, whatever the stages do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import numpy as np

from palate.pipeline import Pipeline
from palate.pipeline.candidates import BoolArray, Candidates, FloatArray, IntArray

Q = TypeVar("Q")

PIPELINE_OF = {
    "discovery": "discovery",
    "category": "category",
    "venue_items": "venue_items",
    "cart": "cart",
    "banners": "discovery",  # banners rank the deliverable venues with Discovery's pipeline
}
"""The serving state's pipeline each staged scenario runs."""


class _Sample(Generic[Q]):
    """How many candidates the real pipeline answers the first query with."""

    def __init__(self, pipeline: Pipeline[Q]) -> None:
        self._pipeline = pipeline
        self.count: int | None = None

    def take(self, query: Q) -> None:
        if self.count is None:
            self.count = len(self._pipeline.run(query).candidates)


class _FirstCandidates(Generic[Q]):
    """A source answering every query with what the real source gave the first one."""

    def __init__(self, source: Any, sample: _Sample[Q]) -> None:
        self.name: str = source.name
        self._source = source
        self._sample = sample
        self._first: tuple[IntArray, dict[str, FloatArray]] | None = None

    def fetch(self, query: Q) -> Candidates:
        if self._first is None:
            self._sample.take(query)
            first = self._source.fetch(query)
            self._first = (first.positions, dict(first.features.items()))  # gathered once
        positions, columns = self._first
        return Candidates(positions, columns)  # writes land in the view, not in ``columns``


class _KeepAll:
    def __init__(self, name: str) -> None:
        self.name = name

    def keep(self, query: object, candidates: Candidates) -> BoolArray:  # noqa: ARG002
        return np.ones(len(candidates), dtype=np.bool_)


class _NoColumns:
    def __init__(self, name: str) -> None:
        self.name = name

    def hydrate(self, query: object, candidates: Candidates) -> dict[str, FloatArray]:  # noqa: ARG002
        return {}


class _RowOrder:
    """Distinct scores in row order (all-equal scores would take the runner's slower sort)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def score(self, query: object, candidates: Candidates) -> FloatArray:  # noqa: ARG002
        result: FloatArray = -np.arange(len(candidates), dtype=np.float64)
        return result


class _AsIs:
    """Candidates as they come; the last selector keeps as many as the real pipeline did."""

    def __init__(self, name: str, sample: _Sample[Any] | None = None) -> None:
        self.name = name
        self._sample = sample

    def select(self, query: object, candidates: Candidates) -> Candidates:  # noqa: ARG002
        count = None if self._sample is None else self._sample.count
        if count is not None and len(candidates) > count:
            return candidates.take(slice(0, count))
        return candidates


def idle_pipeline(pipeline: Pipeline[Q]) -> Pipeline[Q]:
    """``pipeline``'s stages by name, each doing no work over the candidates its sources gave
    the first query; it answers as many as the real pipeline answered that query (the
    handler's response rows cost what they cost). No shared read: nothing is hydrated."""
    sample: _Sample[Q] = _Sample(pipeline)
    *middle, last = [s.name for s in pipeline.selectors] or ["answer"]
    return dataclasses.replace(
        pipeline,
        sources=[_FirstCandidates(s, sample) for s in pipeline.sources],
        filters=[_KeepAll(f.name) for f in pipeline.filters],
        hydrators=[_NoColumns(h.name) for h in pipeline.hydrators],
        scorers=[_RowOrder(pipeline.scorers[0].name)],
        selectors=[*(_AsIs(name) for name in middle), _AsIs(last, sample)],
        shared_reads=None,
        last_good=None,
    )


@contextmanager
def idled(state: object, scenario: str) -> Iterator[None]:
    """Within the block, ``state`` serves ``scenario`` with its pipeline idle."""
    attribute = PIPELINE_OF[scenario]
    real = getattr(state, attribute)
    object.__setattr__(state, attribute, idle_pipeline(real))  # the state may be frozen
    try:
        yield
    finally:
        object.__setattr__(state, attribute, real)
