"""Shared by the rule stages: the active rules of a request, fixed slots, and what moved."""

from __future__ import annotations

from typing import TypeVar

import numpy as np

from palate.pipeline.candidates import Candidates, IntArray
from palate.rules.config import ActiveRules, RuleBook
from palate.rules.subject import ObjectArray, RuleSubject

Q = TypeVar("Q")
PINNED = "rule_pinned"
SPONSORED = "sponsored"


def active_rules(
    book: RuleBook, subject: RuleSubject[Q], query: Q, candidates: Candidates
) -> ActiveRules:
    """The rules that apply to this request (the scope is only worked out if some could)."""
    if not book.has_rules_for(subject.premise):
        return ActiveRules(())
    return book.active(subject.premise, subject.scope(query, candidates), subject.when(query))


def fixed_order(length: int, fixed: dict[int, int]) -> IntArray:
    """A permutation putting row ``fixed[slot]`` at ``slot``; the other rows keep their order.

    Slots past the end put their row last (in slot order).

    >>> fixed_order(5, {0: 3, 2: 0}).tolist()
    [3, 1, 0, 2, 4]
    """
    placed = set(fixed.values())
    rest = iter([row for row in range(length) if row not in placed])
    order: list[int] = []
    for slot in range(length):
        row = fixed.get(slot)
        if row is None:
            row = next(rest, None)
            if row is None:
                break
        order.append(row)
    order += [fixed[s] for s in sorted(fixed) if s >= length]
    order += list(rest)
    return np.asarray(order, dtype=np.int32)


def moves(
    ids: ObjectArray, order: IntArray, watched: np.ndarray | None = None
) -> list[list[object]]:
    """``[id, from, to]`` for every row the permutation moved (or only the watched rows)."""
    new_index = np.empty(len(order), dtype=np.int64)
    new_index[order] = np.arange(len(order))
    rows = np.flatnonzero(new_index != np.arange(len(order)))
    if watched is not None:
        rows = rows[watched[rows]]
    return [[str(ids[r]), int(r), int(new_index[r])] for r in rows]


def flag(candidates: Candidates, name: str) -> np.ndarray:
    """The 0/1 column ``name``, created as zeros when no rule set it yet."""
    column = candidates.features.get(name)
    if column is None:
        column = np.zeros(len(candidates))
        candidates.features[name] = column
    return column
