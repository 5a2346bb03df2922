"""What a caller asks of one venue's items, resolved against a snapshot of the items index."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from palate.catalog.items_index import ItemColumns, ItemsIndex


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """Items of ``venue_id`` for a customer; ``cart`` holds the item ids already chosen.

    ``columns`` is the item snapshot taken when the request arrived, so that every stage reads
    the same rows even if the catalog is rebuilt meanwhile (availability flips still show).
    """

    user_id: str
    venue_id: str
    when: datetime
    limit: int
    columns: ItemColumns = field(repr=False)
    cart: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.when.tzinfo is None:
            raise ValueError("when must be timezone-aware")
        if self.limit < 1:
            raise ValueError("limit must be at least 1")

    @classmethod
    def at(
        cls,
        index: ItemsIndex,
        user_id: str,
        venue_id: str,
        when: datetime,
        limit: int,
        cart: tuple[str, ...] = (),
    ) -> ItemQuery:
        """A query on the index's current snapshot."""
        return cls(user_id, venue_id, when, limit, index.columns, cart)

    def cart_rows(self) -> np.ndarray:
        """Rows of the cart's items in the snapshot (unknown ids dropped)."""
        positions = self.columns.positions
        return np.array([positions[i] for i in self.cart if i in positions], dtype=np.int32)
