"""Filters on venue candidates that the catalog API can change at any moment."""

from __future__ import annotations

from palate.catalog.editor import CatalogEditor
from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import BoolArray, Candidates


class NotTemporarilyClosed:
    """Drops venues closed through ``PATCH /v1/catalog/venues/{id}`` until a later time."""

    name = "not_temporarily_closed"

    def __init__(self, editor: CatalogEditor) -> None:
        self.editor = editor

    def keep(self, request: RankingRequest, candidates: Candidates) -> BoolArray:
        """True where the venue's closure (if any) has ended by the request time."""
        closed_until = self.editor.closed_until
        result: BoolArray = closed_until[candidates.positions] <= request.when.timestamp()
        return result
