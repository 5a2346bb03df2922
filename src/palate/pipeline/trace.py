"""What each stage of one pipeline run did: timing, removals, failures."""

from __future__ import annotations

from dataclasses import dataclass, field


class StageNotApplicableError(RuntimeError):
    """Raised by a stage that has nothing to do for this request (e.g. no model promoted yet).

    The runner moves on as for a failure, but the response is not degraded by it.
    """


@dataclass(frozen=True, slots=True)
class StageTrace:
    """One stage's record in a run."""

    stage: str
    kind: str
    duration_us: float
    count_in: int
    count_out: int
    error: str | None = None
    over_budget: bool = False
    skipped: bool = False

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form for responses and logs."""
        return {
            "stage": self.stage,
            "kind": self.kind,
            "duration_us": round(self.duration_us, 1),
            "in": self.count_in,
            "out": self.count_out,
            "error": self.error,
            "over_budget": self.over_budget,
            "skipped": self.skipped,
        }


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
