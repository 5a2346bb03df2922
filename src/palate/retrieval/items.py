"""Item candidates of one venue and the filters that must hold for every item shown."""

from __future__ import annotations

import numpy as np

from palate.catalog.item_query import ItemQuery
from palate.pipeline.candidates import BoolArray, Candidates
from palate.pipeline.id_lookup import is_member


class VenueItems:
    """Every item of the requested venue, with its price."""

    name = "venue_items"

    def fetch(self, query: ItemQuery) -> Candidates:
        """The venue's rows of the snapshot, in menu order."""
        start, end = query.columns.spans.get(query.venue_id, (0, 0))
        rows = np.arange(start, end, dtype=np.int32)
        return Candidates(rows, {"price": query.columns.price[rows]})


class AvailableItems:
    """Drops sold-out items (``PATCH /v1/catalog/items/{id}``) and any other venue's item."""

    name = "available_items"

    def keep(self, query: ItemQuery, candidates: Candidates) -> BoolArray:
        """Available and of the requested venue (a guard against a mixed-up source)."""
        columns = query.columns
        venue_code = columns.venue.code_of(query.venue_id)
        rows = candidates.positions
        result: BoolArray = columns.available[rows] & (columns.venue.codes[rows] == venue_code)
        return result


class NotInCart:
    """Drops items already in the cart."""

    name = "not_in_cart"

    def keep(self, query: ItemQuery, candidates: Candidates) -> BoolArray:
        """False for the cart's own items."""
        result: BoolArray = ~is_member(candidates.positions, query.cart_rows())
        return result
