"""What one ``POST /v1/events`` batch came to: each event's outcome and the totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from palate.events.ingest_schema import FieldError

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
COUNTED = {ACCEPTED: "accepted", DUPLICATE: "duplicates", REJECTED: "rejected"}
IN_FLIGHT = "another request is ingesting this event_id right now; retry"


class IngestUnavailableError(RuntimeError):
    """The events could not be made durable (disk or Redis failure); nothing was accepted."""


@dataclass(slots=True)
class IngestReport:
    """Per-event outcome, in request order, and the totals."""

    results: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    apply_ticket: int = 0  # memory mode: pass to :meth:`Ingestor.applied`; 0 when nothing to wait

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of the reply."""
        return {
            "results": self.results,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
        }


def rejection(errors: list[FieldError]) -> dict[str, Any]:
    """A rejected event's result: the reasons joined, and each field with its message."""
    return {
        "status": REJECTED,
        "reason": "; ".join(f"{e.field}: {e.message}" for e in errors),
        "fields": [{"field": e.field, "message": e.message} for e in errors],
    }


def raw_event_id(event: object) -> str | None:
    """The ``event_id`` of a raw (maybe invalid) event when it is a string, else None."""
    event_id = event.get("event_id") if isinstance(event, dict) else None
    return event_id if isinstance(event_id, str) else None
