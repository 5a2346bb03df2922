"""The five stage shapes of a recommendation pipeline (after Twitter's product-mixer).

A *source* proposes candidates, a *filter* removes some, a *hydrator* adds feature columns,
a *scorer* assigns one score per candidate without dropping or reordering, and a *selector*
orders, truncates or rearranges. Every stage has a stable ``name`` used in traces and metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from palate.pipeline.candidates import BoolArray, Candidates, FloatArray, IntArray

Q_contra = TypeVar("Q_contra", contravariant=True)


class CandidateSource(Protocol[Q_contra]):
    """Proposes candidates for a query."""

    name: str

    def fetch(self, query: Q_contra) -> Candidates:
        """Candidates with whatever features the source knows cheaply."""
        ...


class Filter(Protocol[Q_contra]):
    """Removes candidates that must not be shown."""

    name: str

    def keep(self, query: Q_contra, candidates: Candidates) -> BoolArray:
        """A mask aligned with ``candidates``: True keeps the row."""
        ...


class Hydrator(Protocol[Q_contra]):
    """Adds feature columns."""

    name: str

    def hydrate(self, query: Q_contra, candidates: Candidates) -> dict[str, FloatArray]:
        """New columns aligned with ``candidates``."""
        ...


Columns = dict[str, FloatArray]
Finish = Callable[[Any], Columns]
"""Computes a hydrator's columns from the results of the shared read it planned into."""


class PlannedHydrator(Hydrator[Q_contra], Protocol[Q_contra]):
    """A hydrator whose store reads can share one round trip with the other hydrators'.

    ``plan`` registers its reads in the pipeline's shared batch and returns how to turn the
    results into its columns; ``hydrate`` stays for a pipeline without shared reads.
    """

    def plan(self, query: Q_contra, candidates: Candidates, reads: Any) -> Finish:
        """Register the reads in ``reads``; the returned function makes the columns."""
        ...


class SharedReads(Protocol[Q_contra]):
    """One store round trip for the reads every :class:`PlannedHydrator` plans.

    product-mixer hydrates a phase's features in parallel; in one Python process the
    equivalent is one batch of reads (one Redis pipeline) instead of one per hydrator.
    """

    name: str

    def batch(self) -> Any:
        """An empty batch for the hydrators to plan into."""
        ...

    def read(self, query: Q_contra, batch: Any) -> Any:
        """Run the batch: the results each planned hydrator's ``Finish`` takes."""
        ...


class Scorer(Protocol[Q_contra]):
    """Scores candidates; never drops or reorders them."""

    name: str

    def score(self, query: Q_contra, candidates: Candidates) -> FloatArray:
        """One score per candidate, higher is better."""
        ...


@dataclass(frozen=True, slots=True)
class RankedScores:
    """Scores together with the order they sort into (``argsort(-scores, kind="stable")``).

    A scorer that already knows most of its order (the two-stage learned scorer: the rows
    below its top K keep stage 1's) defines ``score_ranked(query, candidates) -> RankedScores``
    beside ``score``; the runner then takes that order instead of sorting every score.
    """

    scores: FloatArray
    order: IntArray

    @classmethod
    def of(cls, scores: FloatArray) -> RankedScores:
        """``scores`` with their order, sorted here."""
        return cls(scores, descending_order(scores).astype(np.int32))


def descending_order(scores: FloatArray) -> npt.NDArray[np.intp]:
    """``argsort(-scores, kind="stable")``: best first, ties in row order, NaN last.

    The stable sort's merges mispredict branches on every fresh array (~45 µs for 1,000
    scores here); the default sort runs on SIMD (~20 µs) but orders ties arbitrarily, so its
    answer is kept only when no two neighbours are equal, which is the common case.

    >>> descending_order(np.array([0.2, 0.9, 0.2, np.nan, 0.5])).tolist()
    [1, 4, 0, 2, 3]
    """
    keys = -scores
    order = np.argsort(keys)
    ranked = keys.take(order)
    if len(ranked) > 1 and (np.isnan(ranked[-1]) or (ranked[1:] == ranked[:-1]).any()):
        return np.argsort(keys, kind="stable")
    return order


class Selector(Protocol[Q_contra]):
    """Orders, truncates or rearranges scored candidates."""

    name: str

    def select(self, query: Q_contra, candidates: Candidates) -> Candidates:
        """The candidates to show, in order."""
        ...
