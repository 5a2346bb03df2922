"""Exclusions: a filter that removes the targets of the active ``exclude`` rules."""

from __future__ import annotations

from typing import Generic, TypeVar

import numpy as np

from palate.pipeline.candidates import BoolArray, Candidates
from palate.pipeline.trace import note
from palate.rules.config import ExcludeRule, RuleBook
from palate.rules.placement import active_rules
from palate.rules.subject import RuleSubject

Q = TypeVar("Q")


class ExcludeFilter(Generic[Q]):
    """Drops excluded entities early, before they cost any hydration."""

    name = "exclude"

    def __init__(self, book: RuleBook, subject: RuleSubject[Q]) -> None:
        self.book = book
        self.subject = subject

    def keep(self, query: Q, candidates: Candidates) -> BoolArray:
        """False for every target of an active exclusion."""
        rules = active_rules(self.book, self.subject, query, candidates).of(ExcludeRule)
        targets = sorted(
            {t for rule in rules if isinstance(rule, ExcludeRule) for t in rule.targets}
        )
        if not targets:
            return np.ones(len(candidates), dtype=np.bool_)
        ids = self.subject.ids(candidates)
        removed = np.isin(ids.astype(str), np.asarray(targets, dtype=str))
        if removed.any():
            note(removed=ids[removed].tolist(), rules=[rule.id for rule in rules])
        keep: BoolArray = ~removed
        return keep
