"""What a caller asks a premise for: who, where, when, how many."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from palate.domain.geo import Location


@dataclass(frozen=True, slots=True)
class RankingRequest:
    """A ranking request for one customer at a place and time (UTC-aware)."""

    user_id: str
    location: Location
    when: datetime
    limit: int

    def __post_init__(self) -> None:
        if self.when.tzinfo is None:
            raise ValueError("when must be timezone-aware")
        if self.limit < 1:
            raise ValueError("limit must be at least 1")
