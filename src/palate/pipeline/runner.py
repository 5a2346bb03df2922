"""Runs a pipeline's stages in order, timing each, enforcing budgets and the fail-open policy.

A failing stage named in ``fail_open`` is skipped and recorded; a failing scorer, or one over
its budget, hands over to the next scorer in the chain (learned → heuristic → popularity →
proximity). Any other failure raises :class:`StageError`, because skipping, say, a safety
filter would show what must not be shown — unless the pipeline has a :class:`LastGood` cache,
which then answers with the last good result for the same key, marked degraded.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from palate.pipeline.budget import (
    CircuitOpenError,
    LastGood,
    OverrunBreaker,
    run_inline,
    run_within,
)
from palate.pipeline.candidates import Candidates
from palate.pipeline.stages import (
    CandidateSource,
    Columns,
    Filter,
    Hydrator,
    RankedScores,
    Scorer,
    Selector,
    SharedReads,
)
from palate.pipeline.trace import STAGE_DETAILS, StageNotApplicableError, StageTrace, Trace

Q = TypeVar("Q")
log = logging.getLogger("palate.pipeline")


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
    reads: Any = None
    """The shared read's results when the run made one, for the handles ``also_read`` added."""


@dataclass(frozen=True)
class Pipeline(Generic[Q]):
    """A recommendation pipeline declared as a table of contents of its stages.

    ``budgets_us`` maps stage names to latency budgets: enforced for scorers (an overrun hands
    over to the next scorer) and fail-open hydrators (one that keeps overrunning is skipped
    for the breaker's cool-down), recorded as ``over_budget`` for every other stage.
    """

    name: str
    sources: Sequence[CandidateSource[Q]]
    scorers: Sequence[Scorer[Q]]
    filters: Sequence[Filter[Q]] = ()
    hydrators: Sequence[Hydrator[Q]] = ()
    selectors: Sequence[Selector[Q]] = ()
    fail_open: frozenset[str] = field(default_factory=frozenset)
    budgets_us: dict[str, float] = field(default_factory=dict)
    last_good: LastGood[Q] | None = None
    breaker: OverrunBreaker = field(default_factory=OverrunBreaker)
    shared_reads: SharedReads[Q] | None = None

    def run(self, query: Q, also_read: Callable[[Any], None] | None = None) -> PipelineResult:
        """Source → filter → hydrate → score → select, timed stage by stage.

        ``also_read`` adds the caller's reads to the hydrators' shared read (one round trip
        for the whole request); their results are the result's ``reads``, or None when no
        shared read ran or it failed (the caller then reads on its own).
        """
        trace = Trace()
        try:
            result = self._run_stages(trace, query, also_read)
        except StageError as exc:
            fallback = self._recall(trace, query, exc)
            if fallback is None:
                raise
            return fallback
        if self.last_good is not None and not trace.degraded:
            self.last_good.remember(query, result.candidates, result.scorer)
        return result

    def _run_stages(
        self, trace: Trace, query: Q, also_read: Callable[[Any], None] | None
    ) -> PipelineResult:
        candidates = Candidates.concat([self._fetch(trace, s, query) for s in self.sources])
        for flt in self.filters:
            candidates = self._apply_filter(trace, flt, query, candidates)
        prepared, reads = self._read_shared(trace, query, candidates, also_read)
        for hydrator in self.hydrators:
            own = prepared.get(hydrator.name)
            candidates = self._apply_hydrator(trace, hydrator, query, candidates, own)
        candidates, scorer_name = self._apply_scorers(trace, query, candidates)
        for selector in self.selectors:
            candidates = self._apply_selector(trace, selector, query, candidates)
        return PipelineResult(candidates, trace, scorer_name, reads)

    def _recall(self, trace: Trace, query: Q, exc: StageError) -> PipelineResult | None:
        remembered = None if self.last_good is None else self.last_good.recall(query)
        if remembered is None:
            return None
        started = time.perf_counter_ns()
        record = StageTrace(
            stage="last_good",
            kind="fallback",
            duration_us=(time.perf_counter_ns() - started) / 1_000,
            count_in=0,
            count_out=len(remembered.candidates),
            error=type(exc).__name__,
            details={"failed_stage": exc.stage, "scorer": remembered.scorer},
        )
        trace.stages.append(record)
        return PipelineResult(remembered.candidates, trace, "last_good")

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
        def keep() -> Candidates:
            mask = flt.keep(query, candidates)
            # Most requests lose nothing to most filters: no row index to compose then.
            # (count_nonzero: a C call, where mask.all() goes through numpy's Python wrapper)
            if len(mask) == len(candidates.positions) == np.count_nonzero(mask):
                return candidates
            return candidates.take(mask)

        return self._step(trace, flt.name, "filter", candidates, keep)

    def _guarded(self, name: str) -> bool:
        """Whether a hydrator has a budget the breaker enforces (fail-open ones only)."""
        return self.budgets_us.get(name, 0.0) > 0 and name in self.fail_open

    def _read_shared(
        self,
        trace: Trace,
        query: Q,
        candidates: Candidates,
        also_read: Callable[[Any], None] | None,
    ) -> tuple[dict[str, _Prepared], Any]:
        """The planned reads as one store round trip, recorded (planning included) as its own
        stage; per hydrator, how to make its columns from the results.

        Reads are shared only when two or more take part (hydrators with a ``plan``, the
        caller's ``also_read``): a lone hydrator reads in its own stage as it always did. A
        hydrator whose plan raises hydrates on its own in its stage; when the shared read
        fails each planned hydrator fails in its own stage with that error (fail-open or
        not, as configured) rather than retrying the store once per hydrator.
        """
        planners = self._planners()
        if self.shared_reads is None or len(planners) + (also_read is not None) < 2:
            return {}, None
        started = time.perf_counter_ns()
        batch = self.shared_reads.batch()
        finishes = {}
        for hydrator, plan in planners:
            try:
                finishes[hydrator.name] = plan(query, candidates, batch)
            except Exception:  # noqa: S112 - its own stage hydrates it and records any failure
                continue
        caller = also_read is not None and _planned_by_caller(also_read, batch)
        if not finishes and not caller:
            return {}, None
        prepared, results = self._run_shared(trace, query, candidates, batch, finishes, started)
        return prepared, results if caller else None

    def _planners(self) -> list[tuple[Hydrator[Q], Callable[..., Any]]]:
        """The hydrators that can plan their reads now (not those the breaker holds off)."""
        planners = []
        for hydrator in self.hydrators:
            plan = getattr(hydrator, "plan", None)
            held = self._guarded(hydrator.name) and self.breaker.is_open(hydrator.name)
            if plan is not None and not held:
                planners.append((hydrator, plan))
        return planners

    def _run_shared(
        self,
        trace: Trace,
        query: Q,
        candidates: Candidates,
        batch: object,
        finishes: dict[str, Callable[[object], Columns]],
        started: int,
    ) -> tuple[dict[str, _Prepared], Any]:
        assert self.shared_reads is not None  # noqa: S101 - the caller checked
        count = len(candidates.positions)
        try:
            results = self.shared_reads.read(query, batch)
        except Exception as exc:
            self._record(trace, self.shared_reads.name, "reads", started, count, count, exc)
            failed = _Prepared(functools.partial(_reraise, exc), 0.0)
            return dict.fromkeys(finishes, failed), None
        read_us = (time.perf_counter_ns() - started) / 1_000
        self._record(trace, self.shared_reads.name, "reads", started, count, count, None)
        prepared = {
            name: _Prepared(functools.partial(finish, results), read_us)
            for name, finish in finishes.items()
        }
        return prepared, results

    def _apply_hydrator(
        self,
        trace: Trace,
        hydrator: Hydrator[Q],
        query: Q,
        candidates: Candidates,
        prepared: _Prepared | None = None,
    ) -> Candidates:
        budget = self.budgets_us.get(hydrator.name, 0.0)
        guarded = self._guarded(hydrator.name)

        def hydrate() -> Candidates:
            if guarded and self.breaker.is_open(hydrator.name):
                raise CircuitOpenError(hydrator.name)
            started = time.perf_counter_ns()
            if prepared is None:
                columns, waited_us = hydrator.hydrate(query, candidates), 0.0
            else:  # its lateness includes the shared read it waited on, as when it read alone
                columns, waited_us = prepared.make(), prepared.read_us
            candidates.features.update(columns)
            if guarded:  # late features are still right; only a habit of lateness trips it
                overran = (time.perf_counter_ns() - started) / 1_000 + waited_us > budget
                self.breaker.record(hydrator.name, overran=overran)
            return candidates

        return self._step(trace, hydrator.name, "hydrator", candidates, hydrate)

    def _apply_scorers(
        self, trace: Trace, query: Q, candidates: Candidates
    ) -> tuple[Candidates, str]:
        count = len(candidates.positions)
        for scorer in self.scorers:
            started = time.perf_counter_ns()
            details: dict[str, object] = {}
            token = STAGE_DETAILS.set(details)
            try:
                ranked = self._score(scorer, query, candidates)
            except Exception as exc:  # the chain's next scorer takes over
                self._record(trace, scorer.name, "scorer", started, count, count, exc)
                continue
            finally:
                STAGE_DETAILS.reset(token)
            self._record(trace, scorer.name, "scorer", started, count, count, None, details)
            candidates.scores = ranked.scores
            return candidates.take(ranked.order), scorer.name
        raise StageError("scorers", RuntimeError("every scorer in the chain failed"))

    def _score(self, scorer: Scorer[Q], query: Q, candidates: Candidates) -> RankedScores:
        """The scorer's scores and their order, within its budget when it has one; raises on
        a bad shape."""
        budget = self.budgets_us.get(scorer.name, 0.0)

        def score() -> RankedScores:
            score_ranked = getattr(scorer, "score_ranked", None)
            if score_ranked is not None:
                ranked: RankedScores = score_ranked(query, candidates)
                return ranked
            scores = np.asarray(scorer.score(query, candidates), dtype=np.float64)
            return RankedScores.of(scores)

        if budget <= 0:
            ranked = score()
        elif getattr(scorer, "blocking", False):  # waits on I/O: abandon it on a worker thread
            ranked = run_within(scorer.name, budget, score)
        else:
            ranked = run_inline(scorer.name, budget, self.breaker, score)
        expected = (len(candidates),)
        if ranked.scores.shape != expected or ranked.order.shape != expected:
            raise ValueError(f"{len(ranked.scores)} scores for {len(candidates)} candidates")
        return ranked

    def _step(
        self,
        trace: Trace,
        name: str,
        kind: str,
        before: Candidates,
        action: Callable[[], Candidates],
    ) -> Candidates:
        started = time.perf_counter_ns()
        details: dict[str, object] = {}
        token = STAGE_DETAILS.set(details)
        count_in = len(before.positions)
        try:
            after = action()
        except Exception as exc:
            self._record(trace, name, kind, started, count_in, count_in, exc)
            if name not in self.fail_open:
                raise StageError(name, exc) from exc
            return before
        finally:
            STAGE_DETAILS.reset(token)
        self._record(trace, name, kind, started, count_in, len(after.positions), None, details)
        return after

    def _record(
        self,
        trace: Trace,
        name: str,
        kind: str,
        started_ns: int,
        count_in: int,
        count_out: int,
        error: BaseException | None,
        details: dict[str, object] | None = None,
    ) -> None:
        # Positional, no Candidates.__len__: a request records a dozen of these.
        duration_us = (time.perf_counter_ns() - started_ns) / 1_000
        budget = self.budgets_us.get(name, 0.0)
        failed = None if error is None else type(error).__name__
        skipped = error is not None and isinstance(error, StageNotApplicableError)
        over = 0.0 < budget < duration_us
        trace.stages.append(
            StageTrace(
                name, kind, duration_us, count_in, count_out, failed, over, skipped, details or None
            )
        )


def _planned_by_caller(also_read: Callable[[Any], None], batch: object) -> bool:
    """Whether the caller's reads went into the batch; a caller whose planning raises reads
    on its own afterwards (its result's ``reads`` is None) rather than failing the ranking."""
    try:
        also_read(batch)
    except Exception:
        log.exception("a caller's reads could not join the shared read")
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A planned hydrator's columns from the shared read, and how long that read took."""

    make: Callable[[], Columns]
    read_us: float


def _reraise(error: BaseException) -> Columns:
    """A hydrator's columns when the shared read they needed failed: that failure."""
    raise error
