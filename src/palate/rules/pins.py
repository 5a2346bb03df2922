"""Pins: put a target at a fixed slot when it is among the candidates."""

from __future__ import annotations

from typing import Generic, TypeVar

import numpy as np

from palate.pipeline.candidates import Candidates
from palate.pipeline.trace import note
from palate.rules.config import PinRule, RuleBook
from palate.rules.placement import PINNED, active_rules, fixed_order, flag, moves
from palate.rules.subject import RuleSubject

Q = TypeVar("Q")


class PinSelector(Generic[Q]):
    """Moves pinned targets to their slots; a target that is not a candidate is not added,
    because it may not deliver here or be open now."""

    name = "pin"

    def __init__(self, book: RuleBook, subject: RuleSubject[Q]) -> None:
        self.book = book
        self.subject = subject

    def select(self, query: Q, candidates: Candidates) -> Candidates:
        """Pinned targets at their slots (lowest slot first on a clash), others in order."""
        rules = active_rules(self.book, self.subject, query, candidates).of(PinRule)
        if not rules or not len(candidates):
            return candidates
        ids = self.subject.ids(candidates).astype(str)
        targets = {r.target for r in rules}
        row_of = {str(v): i for i, v in enumerate(ids) if v in targets}
        fixed: dict[int, int] = {}
        fired: list[str] = []
        for rule in sorted(rules, key=lambda r: (r.slot, r.id)):
            row = row_of.get(rule.target)
            if row is None or row in fixed.values():
                continue
            slot = rule.slot
            while slot in fixed:
                slot += 1
            fixed[slot] = row
            fired.append(rule.id)
        if not fixed:
            return candidates
        order = fixed_order(len(candidates), fixed)
        pinned = np.zeros(len(candidates), dtype=np.bool_)
        pinned[list(fixed.values())] = True
        flag(candidates, PINNED)[pinned] = 1.0
        note(moved=moves(ids, order, pinned), rules=fired)
        return candidates.take(order)
