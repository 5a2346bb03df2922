"""The rule stages' view of an item pipeline (in venue, cart): item ids, the venue's scope.

Rules name items by id. Their scope is the venue's city and market, so a city can override its
market's item rules as it does for venues. Items carry no brand, so a ``brand`` diversity cap
finds no groups and keeps the order; a ``cuisine`` cap groups items by menu category and by tag
(at most k drinks, or k spicy dishes, among the first n).
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime

import numpy as np

from palate.catalog.item_query import ItemQuery
from palate.catalog.items_index import ItemColumns, ItemsIndex
from palate.domain.catalog import Catalog
from palate.pipeline.candidates import Candidates
from palate.rules.config import Scope
from palate.rules.subject import BoolMatrix, GroupBy, ObjectArray

# The item snapshot of the request being ranked in this thread or task; see ItemSubject.scope.
_SNAPSHOT: ContextVar[ItemColumns | None] = ContextVar("item_snapshot", default=None)


class ItemSubject:
    """Items of one venue, for the premise ``venue_items`` or ``cart``.

    ``catalog`` is read at request time, so a venue moved to another city by a catalog change
    takes that city's rules from the next request on. Candidate positions are rows of the
    request's item snapshot, but :meth:`ids` and :meth:`groups` get no query: every rule stage
    resolves its rules (:meth:`scope`) first, which records the snapshot for this context; the
    index's current snapshot is the fallback.
    """

    def __init__(self, catalog: Catalog, items: ItemsIndex, premise: str) -> None:
        self.catalog = catalog
        self.items = items
        self.premise = premise

    def when(self, query: ItemQuery) -> datetime:
        """The request time."""
        return query.when

    def scope(self, query: ItemQuery, candidates: Candidates) -> Scope:  # noqa: ARG002
        """The venue's city and its market (empty for a venue the catalog does not know)."""
        _SNAPSHOT.set(query.columns)
        venue = self.catalog.venues.get(query.venue_id)
        if venue is None:
            return Scope()
        city = self.catalog.cities.get(venue.city_id)
        return Scope(market=None if city is None else city.market_id, city=venue.city_id)

    def ids(self, candidates: Candidates) -> ObjectArray:
        """Item ids (of the request's snapshot)."""
        ids: ObjectArray = self._columns().item_ids[candidates.positions]
        return ids

    def groups(self, candidates: Candidates, by: GroupBy) -> BoolMatrix:
        """``cuisine``: menu category (one-hot) and tags (multi-hot); ``brand``: no groups."""
        rows = candidates.positions
        if by == "brand":
            empty: BoolMatrix = np.zeros((len(rows), 0), dtype=np.bool_)
            return empty
        columns = self._columns()
        width = len(columns.category.vocabulary)
        onehot = np.zeros((len(rows), width), dtype=np.bool_)
        onehot[np.arange(len(rows)), columns.category.codes[rows]] = True
        matrix: BoolMatrix = np.hstack([onehot, columns.tags.matrix[rows]])
        return matrix

    def _columns(self) -> ItemColumns:
        snapshot = _SNAPSHOT.get()
        return self.items.columns if snapshot is None else snapshot
