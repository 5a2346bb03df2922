"""The rule stages of a premise, in the order they must run."""

from __future__ import annotations

from typing import TypeVar

from palate.pipeline.stages import Filter, Selector
from palate.rules.boosts import BoostSelector
from palate.rules.config import RuleBook
from palate.rules.diversity import DiversitySelector
from palate.rules.exclusions import ExcludeFilter
from palate.rules.pins import PinSelector
from palate.rules.sponsored import SponsoredSelector
from palate.rules.subject import RuleSubject

Q = TypeVar("Q")
RULE_STAGES = ("exclude", "boost", "pin", "sponsored", "diversity")


def rule_filters(book: RuleBook, subject: RuleSubject[Q]) -> list[Filter[Q]]:
    """Exclusions, to run early with the other filters."""
    return [ExcludeFilter(book, subject)]


def rule_selectors(book: RuleBook, subject: RuleSubject[Q]) -> list[Selector[Q]]:
    """Boosts, then pins, then sponsored slots, then diversity caps: after scoring, before the
    final truncation (boosts change the order pins and caps work on; caps respect placements)."""
    return [
        BoostSelector(book, subject),
        PinSelector(book, subject),
        SponsoredSelector(book, subject),
        DiversitySelector(book, subject),
    ]
