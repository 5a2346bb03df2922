"""Sponsored slots: reserved positions for paid placements, marked in the response."""

from __future__ import annotations

from typing import Generic, TypeVar

import numpy as np

from palate.pipeline.candidates import Candidates
from palate.pipeline.trace import note
from palate.rules.config import RuleBook, SponsoredRule
from palate.rules.placement import PINNED, SPONSORED, active_rules, fixed_order, flag, moves
from palate.rules.subject import RuleSubject

Q = TypeVar("Q")


class SponsoredSelector(Generic[Q]):
    """Places sponsored targets at their slots without displacing pinned ones.

    A sponsored slot taken by a pin moves to the next free slot; the placed rows get the
    ``sponsored`` column set to 1 so the response can mark them.
    """

    name = "sponsored"

    def __init__(self, book: RuleBook, subject: RuleSubject[Q]) -> None:
        self.book = book
        self.subject = subject

    def select(self, query: Q, candidates: Candidates) -> Candidates:
        """Sponsored targets at their reserved slots, pins kept where they are."""
        rules = active_rules(self.book, self.subject, query, candidates).of(SponsoredRule)
        if not rules or not len(candidates):
            return candidates
        ids = self.subject.ids(candidates).astype(str)
        pinned = flag(candidates, PINNED) > 0
        fixed = {int(row): int(row) for row in np.flatnonzero(pinned)}
        row_of = {str(v): i for i, v in enumerate(ids)}
        placed = np.zeros(len(candidates), dtype=np.bool_)
        fired: list[str] = []
        for rule in sorted(rules, key=lambda r: (r.slot, r.id)):
            row = row_of.get(rule.target)
            if row is None or row in fixed.values():
                continue
            slot = rule.slot
            while slot in fixed:
                slot += 1
            fixed[slot] = row
            placed[row] = True
            fired.append(rule.id)
        if not fired:
            return candidates
        order = fixed_order(len(candidates), fixed)
        flag(candidates, SPONSORED)[placed] = 1.0
        note(placed=moves(ids, order, placed), rules=fired)
        return candidates.take(order)
