"""Boost or bury: multiply the targets' relevance by a factor, then re-sort.

Scores can be negative (the heuristic's are), so a factor cannot multiply them directly. The
stage uses the relevance ``score - floor`` with ``floor`` one score spread below the lowest
candidate: every candidate's relevance lies in ``[spread, 2 * spread]``, so a factor of 2 lifts
any target to the top and a factor below 0.5 drops it below every untouched candidate.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import numpy as np

from palate.pipeline.candidates import Candidates, FloatArray
from palate.pipeline.trace import note
from palate.rules.config import BoostRule, RuleBook
from palate.rules.placement import active_rules, moves
from palate.rules.subject import RuleSubject

Q = TypeVar("Q")


def boosted(scores: FloatArray, factors: FloatArray) -> FloatArray:
    """Scores with each row's relevance above the floor multiplied by its factor.

    >>> boosted(np.array([3.0, 2.0, 1.0]), np.array([1.0, 1.0, 2.0])).tolist()
    [3.0, 2.0, 3.0]
    """
    spread = float(scores.max() - scores.min()) or 1.0
    floor = float(scores.min()) - spread
    result: FloatArray = floor + (scores - floor) * factors
    return result


class BoostSelector(Generic[Q]):
    """Applies every active boost (factors multiply) and re-sorts by the adjusted score."""

    name = "boost"

    def __init__(self, book: RuleBook, subject: RuleSubject[Q]) -> None:
        self.book = book
        self.subject = subject

    def select(self, query: Q, candidates: Candidates) -> Candidates:
        """The candidates re-ordered by boosted scores; untouched when no boost applies."""
        rules = active_rules(self.book, self.subject, query, candidates).of(BoostRule)
        if not rules or not len(candidates) or candidates.scores is None:
            return candidates
        ids = self.subject.ids(candidates).astype(str)
        factors = np.ones(len(candidates))
        for rule in rules:
            factors[np.isin(ids, np.asarray(rule.targets, dtype=str))] *= rule.factor
        touched = factors != 1.0
        if not touched.any():
            return candidates
        candidates.scores = boosted(candidates.scores, factors)
        order = np.argsort(-candidates.scores, kind="stable").astype(np.int32)
        note(moved=moves(ids, order, touched), rules=[r.id for r in rules])
        return candidates.take(order)
