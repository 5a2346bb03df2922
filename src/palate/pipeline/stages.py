"""The five stage shapes of a recommendation pipeline (after Twitter's product-mixer).

A *source* proposes candidates, a *filter* removes some, a *hydrator* adds feature columns,
a *scorer* assigns one score per candidate without dropping or reordering, and a *selector*
orders, truncates or rearranges. Every stage has a stable ``name`` used in traces and metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

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


class Selector(Protocol[Q_contra]):
    """Orders, truncates or rearranges scored candidates."""

    name: str

    def select(self, query: Q_contra, candidates: Candidates) -> Candidates:
        """The candidates to show, in order."""
        ...
