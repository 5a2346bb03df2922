"""The rule set: validated rule models and the book that picks the rules for a request.

Rules come from two places: the ``[business_rules]`` settings (per market, a city may override)
and the admin API (stored durably, see :mod:`palate.rules.store`). For a request, a rule
applies when its premise matches, its scope covers the request (everywhere, the market, or the
city) and the request time lies in its validity window. Rules sharing an ``id`` override each
other: the more specific scope wins (city over market over everywhere), then the admin API over
config. A winning rule with ``enabled = false`` switches the id off there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

RuleId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
EntityId = Annotated[str, Field(min_length=1, max_length=128)]
# The premises whose pipelines run the rule stages; a typo is a 422, not a rule that never fires.
# Category pages run Discovery's stages, so their rules are "discovery" rules.
RulePremise = Literal["discovery", "venue_items", "cart"]


R = TypeVar("R", bound="RuleBase")


class RuleBase(BaseModel):
    """Fields every rule has: identity, premise, scope and validity window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RuleId
    premise: RulePremise = Field(
        default="discovery", description="discovery (and category pages), venue_items or cart"
    )
    market: str | None = Field(default=None, description="Only in this market")
    city: str | None = Field(default=None, description="Only in this city (overrides market)")
    starts_at: datetime | None = Field(default=None, description="Active from (UTC if no offset)")
    ends_at: datetime | None = Field(default=None, description="Active until, exclusive")
    enabled: bool = Field(default=True, description="false switches this id off in its scope")

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RuleBase:
        if self.market is not None and self.city is not None:
            raise ValueError("city: set either market or city, not both")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at: must be after starts_at")
        return self

    def active_at(self, when: datetime) -> bool:
        """Whether ``when`` lies in the validity window."""
        return (self.starts_at is None or self.starts_at <= when) and (
            self.ends_at is None or when < self.ends_at
        )


class PinRule(RuleBase):
    """Put ``target`` at ``slot`` (0 is first) when it is a candidate."""

    kind: Literal["pin"]
    target: EntityId
    slot: int = Field(ge=0)


class BoostRule(RuleBase):
    """Multiply the targets' relevance by ``factor``: above 1 boosts, below 1 buries."""

    kind: Literal["boost"]
    targets: list[EntityId] = Field(min_length=1)
    factor: float = Field(gt=0, le=1_000)


class SponsoredRule(RuleBase):
    """A reserved position: ``target`` at ``slot``, marked sponsored in the response."""

    kind: Literal["sponsored"]
    target: EntityId
    slot: int = Field(ge=0)
    campaign: str | None = None


class ExcludeRule(RuleBase):
    """Never show the targets."""

    kind: Literal["exclude"]
    targets: list[EntityId] = Field(min_length=1)


class DiversityRule(RuleBase):
    """At most ``max_per`` of one brand (or cuisine) among the first ``top_n``."""

    kind: Literal["diversity"]
    by: Literal["brand", "cuisine"]
    max_per: int = Field(ge=1)
    top_n: int = Field(ge=1, le=1_000)


Rule = Annotated[
    PinRule | BoostRule | SponsoredRule | ExcludeRule | DiversityRule, Field(discriminator="kind")
]
RULE: TypeAdapter[Rule] = TypeAdapter(Rule)
SOURCES = ("config", "api")


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a request is: its market and city (None when unknown)."""

    market: str | None = None
    city: str | None = None


def parse_rule(raw: object) -> Rule:
    """A rule from plain data; pydantic's error names the offending field.

    >>> parse_rule({"id": "p", "kind": "pin", "target": "v9", "slot": 0}).slot
    0
    """
    return RULE.validate_python(raw)


def _specificity(rule: RuleBase, scope: Scope) -> int | None:
    """2 for the request's city, 1 for its market, 0 for everywhere, None when not here."""
    if rule.city is not None:
        return 2 if rule.city == scope.city else None
    if rule.market is not None:
        return 1 if rule.market == scope.market else None
    return 0


@dataclass(frozen=True, slots=True)
class ActiveRules:
    """The rules that apply to one request, by kind."""

    rules: tuple[Rule, ...] = ()

    def of(self, kind: type[R]) -> list[R]:
        """The active rules of one kind, in id order (deterministic)."""
        return sorted((r for r in self.rules if isinstance(r, kind)), key=lambda r: r.id)


def resolve(
    rules: Iterable[tuple[str, Rule]], premise: str, scope: Scope, when: datetime
) -> ActiveRules:
    """Pick, per id, the most specific rule valid now; drop ids switched off."""
    best: dict[str, tuple[tuple[int, int], Rule]] = {}
    for source, rule in rules:
        specificity = _specificity(rule, scope)
        if rule.premise != premise or specificity is None or not rule.active_at(when):
            continue
        rank = (specificity, SOURCES.index(source))
        if rule.id not in best or rank >= best[rule.id][0]:
            best[rule.id] = (rank, rule)
    return ActiveRules(tuple(rule for _, rule in best.values() if rule.enabled))


@dataclass
class RuleBook:
    """Config rules plus runtime (admin API) rules; the API side may be backed by a store."""

    config: Sequence[Rule] = ()
    runtime: dict[str, Rule] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def active(self, premise: str, scope: Scope, when: datetime) -> ActiveRules:
        """The rules that apply to a request of ``premise`` at ``scope`` and ``when``."""
        return resolve(self.everything(), premise, scope, when)

    def has_rules_for(self, premise: str) -> bool:
        """Whether any rule (config or API, active or not) targets ``premise``."""
        with self._lock:
            runtime = list(self.runtime.values())
        return any(rule.premise == premise for rule in (*self.config, *runtime))

    def everything(self) -> list[tuple[str, Rule]]:
        """Every rule with its source (``config`` or ``api``)."""
        with self._lock:
            runtime = list(self.runtime.values())
        return [("config", r) for r in self.config] + [("api", r) for r in runtime]

    def put(self, rule: Rule) -> None:
        """Add or replace a runtime rule."""
        with self._lock:
            self.runtime[rule.id] = rule

    def delete(self, rule_id: str) -> bool:
        """Remove a runtime rule; False when there was none."""
        with self._lock:
            return self.runtime.pop(rule_id, None) is not None

    def replace_runtime(self, rules: Iterable[Rule]) -> None:
        """Swap in the runtime rules another process stored."""
        fresh = {rule.id: rule for rule in rules}
        with self._lock:
            self.runtime = fresh
