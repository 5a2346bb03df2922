"""Selectors that shape the final list."""

from __future__ import annotations

from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates


class TopK:
    """Keep the first ``limit`` candidates of the scored order."""

    name = "top_k"

    def select(self, request: RankingRequest, candidates: Candidates) -> Candidates:
        """The head of the list, as long as the request's limit."""
        if len(candidates) <= request.limit:
            return candidates
        return candidates.take(slice(0, request.limit))
