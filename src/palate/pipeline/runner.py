"""Runs a pipeline's stages in order, timing each and applying its fail-open policy.

A failing stage named in ``fail_open`` is skipped and recorded; a failing scorer hands over to
the next scorer in the chain (learned → heuristic → popularity). Any other failure raises
:class:`StageError`, because skipping, say, a safety filter would show what must not be shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from palate.pipeline.candidates import Candidates, FloatArray
from palate.pipeline.stages import CandidateSource, Filter, Hydrator, Scorer, Selector
from palate.pipeline.trace import StageNotApplicableError, StageTrace, Trace

Q = TypeVar("Q")


class StageError(RuntimeError):
    """A stage that is not fail-open raised."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(f"stage {stage!r} failed: {cause!r}")
        self.stage = stage


@dataclass(frozen=True, slots=True)
class PipelineResult:
    """The selected candidates, in order, with the trace of the run."""

    candidates: Candidates
    trace: Trace
    scorer: str


@dataclass(frozen=True)
class Pipeline(Generic[Q]):
    """A recommendation pipeline declared as a table of contents of its stages."""

    name: str
    sources: Sequence[CandidateSource[Q]]
    scorers: Sequence[Scorer[Q]]
    filters: Sequence[Filter[Q]] = ()
    hydrators: Sequence[Hydrator[Q]] = ()
    selectors: Sequence[Selector[Q]] = ()
    fail_open: frozenset[str] = field(default_factory=frozenset)
    budgets_us: dict[str, float] = field(default_factory=dict)

    def run(self, query: Q) -> PipelineResult:
        """Source → filter → hydrate → score → select, timed stage by stage."""
        trace = Trace()
        candidates = Candidates.concat([self._fetch(trace, s, query) for s in self.sources])
        for flt in self.filters:
            candidates = self._apply_filter(trace, flt, query, candidates)
        for hydrator in self.hydrators:
            candidates = self._apply_hydrator(trace, hydrator, query, candidates)
        candidates, scorer_name = self._apply_scorers(trace, query, candidates)
        for selector in self.selectors:
            candidates = self._apply_selector(trace, selector, query, candidates)
        return PipelineResult(candidates, trace, scorer_name)

    def _fetch(self, trace: Trace, source: CandidateSource[Q], query: Q) -> Candidates:
        return self._step(
            trace, source.name, "source", Candidates.empty(), lambda: source.fetch(query)
        )

    def _apply_selector(
        self, trace: Trace, selector: Selector[Q], query: Q, candidates: Candidates
    ) -> Candidates:
        return self._step(
            trace, selector.name, "selector", candidates, lambda: selector.select(query, candidates)
        )

    def _apply_filter(
        self, trace: Trace, flt: Filter[Q], query: Q, candidates: Candidates
    ) -> Candidates:
        return self._step(
            trace,
            flt.name,
            "filter",
            candidates,
            lambda: candidates.take(flt.keep(query, candidates)),
        )

    def _apply_hydrator(
        self, trace: Trace, hydrator: Hydrator[Q], query: Q, candidates: Candidates
    ) -> Candidates:
        def hydrate() -> Candidates:
            candidates.features.update(hydrator.hydrate(query, candidates))
            return candidates

        return self._step(trace, hydrator.name, "hydrator", candidates, hydrate)

    def _apply_scorers(
        self, trace: Trace, query: Q, candidates: Candidates
    ) -> tuple[Candidates, str]:
        for scorer in self.scorers:
            started = time.perf_counter_ns()
            try:
                scores: FloatArray = np.asarray(scorer.score(query, candidates), dtype=np.float64)
                if scores.shape != (len(candidates),):
                    raise ValueError(f"{len(scores)} scores for {len(candidates)} candidates")
            except Exception as exc:  # the chain's next scorer takes over
                self._record(trace, scorer.name, "scorer", started, candidates, candidates, exc)
                continue
            self._record(trace, scorer.name, "scorer", started, candidates, candidates, None)
            candidates.scores = scores
            order = np.argsort(-scores, kind="stable").astype(np.int32)
            return candidates.take(order), scorer.name
        raise StageError("scorers", RuntimeError("every scorer in the chain failed"))

    def _step(
        self,
        trace: Trace,
        name: str,
        kind: str,
        before: Candidates,
        action: Callable[[], Candidates],
    ) -> Candidates:
        started = time.perf_counter_ns()
        try:
            after = action()
        except Exception as exc:
            if name not in self.fail_open:
                raise StageError(name, exc) from exc
            self._record(trace, name, kind, started, before, before, exc)
            return before
        self._record(trace, name, kind, started, before, after, None)
        return after

    def _record(
        self,
        trace: Trace,
        name: str,
        kind: str,
        started_ns: int,
        before: Candidates,
        after: Candidates,
        error: BaseException | None,
    ) -> None:
        duration_us = (time.perf_counter_ns() - started_ns) / 1_000
        budget = self.budgets_us.get(name)
        trace.stages.append(
            StageTrace(
                stage=name,
                kind=kind,
                duration_us=duration_us,
                count_in=len(before),
                count_out=len(after),
                error=None if error is None else type(error).__name__,
                over_budget=budget is not None and duration_us > budget,
                skipped=isinstance(error, StageNotApplicableError),
            )
        )
