"""What each stage of one pipeline run did: timing, removals, failures."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

# The details the running stage attached (see :func:`note`); None outside a pipeline run.
# The runner sets and resets it around every stage itself (two calls fewer per stage).
STAGE_DETAILS: ContextVar[dict[str, object] | None] = ContextVar("stage_details", default=None)


class StageNotApplicableError(RuntimeError):
    """Raised by a stage that has nothing to do for this request (e.g. no model promoted yet).

    The runner moves on as for a failure, but the response is not degraded by it.
    """


@dataclass(slots=True)
class StageTrace:
    """One stage's record in a run (not frozen: a frozen dataclass's ``__init__`` costs three
    times as much, and a request writes one per stage)."""

    stage: str
    kind: str
    duration_us: float
    count_in: int
    count_out: int
    error: str | None = None
    over_budget: bool = False
    skipped: bool = False
    details: dict[str, object] | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form for responses and logs."""
        out: dict[str, object] = {
            "stage": self.stage,
            "kind": self.kind,
            "duration_us": round(self.duration_us, 1),
            "in": self.count_in,
            "out": self.count_out,
            "error": self.error,
            "over_budget": self.over_budget,
            "skipped": self.skipped,
        }
        if self.details:
            out["details"] = self.details
        return out


def note(**details: object) -> None:
    """Attach ``details`` (what a stage removed or moved) to the running stage's trace record.

    A no-op outside a pipeline run, so stages stay usable on their own.

    >>> note(moved=[["v1", 3, 0]])  # outside a run: ignored
    """
    current = STAGE_DETAILS.get()
    if current is not None:
        current.update(details)


@dataclass(slots=True)
class Trace:
    """The ordered stage records of one run, and whether the result is degraded."""

    stages: list[StageTrace] = field(default_factory=list)

    @property
    def degraded(self) -> bool:
        """True when any stage failed and was skipped or replaced by a fallback."""
        return any(s.error is not None and not s.skipped for s in self.stages)

    @property
    def degraded_reasons(self) -> list[str]:
        """``stage:error`` for every failed stage."""
        return [
            f"{s.stage}:{s.error}" for s in self.stages if s.error is not None and not s.skipped
        ]
