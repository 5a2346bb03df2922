"""Diversity caps: at most ``max_per`` of one brand (or cuisine) among the first ``top_n``.

Greedy and stable: slot by slot, the best remaining candidate whose groups are all under the
cap takes the slot; pinned and sponsored rows keep their slots and count towards the caps. When
no remaining candidate fits, the best remaining one takes the slot anyway (a short list beats a
wrong one). Only a window of ``WINDOW_PER_SLOT * top_n`` rows is searched, which bounds the cost.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import numpy as np

from palate.pipeline.candidates import BoolArray, Candidates, IntArray
from palate.pipeline.trace import note
from palate.rules.config import DiversityRule, RuleBook
from palate.rules.placement import PINNED, SPONSORED, active_rules, flag, moves
from palate.rules.subject import BoolMatrix, RuleSubject

Q = TypeVar("Q")
WINDOW_PER_SLOT = 20


def diversified(groups: BoolMatrix, locked: BoolArray, max_per: int, top_n: int) -> IntArray:
    """The permutation of the rows of ``groups`` meeting the cap in the first ``top_n`` slots.

    >>> brands = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], dtype=bool)
    >>> diversified(brands, np.zeros(4, dtype=bool), max_per=1, top_n=2).tolist()
    [0, 3, 1, 2]
    """
    rows = groups.shape[0]
    used = np.zeros(rows, dtype=np.bool_)
    counts = np.zeros(groups.shape[1], dtype=np.int64)
    chosen: list[int] = []
    for slot in range(min(top_n, rows)):
        if locked[slot]:
            row = slot
        else:
            free = ~used & ~locked
            fits = free & ~groups[:, counts >= max_per].any(axis=1)
            pool = fits if fits.any() else free
            row = int(np.argmax(pool))
        used[row] = True
        counts += groups[row]
        chosen.append(row)
    return np.asarray(chosen + np.flatnonzero(~used).tolist(), dtype=np.int32)


class DiversitySelector(Generic[Q]):
    """Applies every active diversity cap in turn."""

    name = "diversity"

    def __init__(self, book: RuleBook, subject: RuleSubject[Q]) -> None:
        self.book = book
        self.subject = subject

    def select(self, query: Q, candidates: Candidates) -> Candidates:
        """The candidates with the caps met in each rule's top ``top_n``."""
        rules = active_rules(self.book, self.subject, query, candidates).of(DiversityRule)
        moved: list[list[object]] = []
        for rule in rules:
            candidates, rule_moves = self._apply(rule, candidates)
            moved += rule_moves
        if moved:
            note(moved=moved, rules=[r.id for r in rules])
        return candidates

    def _apply(
        self, rule: DiversityRule, candidates: Candidates
    ) -> tuple[Candidates, list[list[object]]]:
        window = min(len(candidates), WINDOW_PER_SLOT * rule.top_n)
        if window == 0:
            return candidates, []
        head = candidates.take(slice(0, window))
        locked = (flag(head, PINNED) > 0) | (flag(head, SPONSORED) > 0)
        groups = self.subject.groups(head, rule.by)
        order = diversified(groups, locked, rule.max_per, rule.top_n)
        if np.array_equal(order, np.arange(window)):
            return candidates, []
        full = np.concatenate([order, np.arange(window, len(candidates), dtype=np.int32)])
        ids = self.subject.ids(head).astype(str)
        return candidates.take(full), moves(ids, order)
