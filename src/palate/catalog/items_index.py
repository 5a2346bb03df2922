"""Columnar item arrays grouped by venue: ids, menu categories, prices, tags and availability.

Items are sorted by venue, so a venue's menu is one contiguous slice. ``available`` is the one
array written in place: :meth:`ItemsIndex.set_available` flips a single element, so a sold-out
item disappears from the next ranking. Any other change rebuilds a snapshot that is swapped in
whole; readers holding the old one are never blocked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from palate.catalog.columns import Codes, MultiHot
from palate.domain.catalog import Item

IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class ItemColumns:
    """One snapshot of every item, sorted by venue; ``spans[venue_id]`` is its row range."""

    item_ids: npt.NDArray[np.object_]
    positions: dict[str, int]
    venue: Codes
    spans: dict[str, tuple[int, int]]
    category: Codes
    price: npt.NDArray[np.float64]
    tags: MultiHot
    available: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.item_ids)

    @classmethod
    def from_items(cls, items: Iterable[Item]) -> ItemColumns:
        """Columns of ``items`` ordered by venue id, then by their given order."""
        ordered = sorted(items, key=lambda item: item.venue_id)  # stable: menu order kept
        venue = Codes.encode([item.venue_id for item in ordered])
        starts = np.searchsorted(venue.codes, np.arange(len(venue.vocabulary) + 1))
        spans = {
            venue_id: (int(starts[code]), int(starts[code + 1]))
            for code, venue_id in enumerate(venue.vocabulary)
        }
        return cls(
            item_ids=np.array([item.id for item in ordered], dtype=np.object_),
            positions={item.id: row for row, item in enumerate(ordered)},
            venue=venue,
            spans=spans,
            category=Codes.encode([item.category for item in ordered]),
            price=np.array([item.price for item in ordered], dtype=np.float64),
            tags=MultiHot.encode([item.tags for item in ordered]),
            available=np.array([item.available for item in ordered], dtype=np.bool_),
        )


class ItemsIndex:
    """The serving view of the catalog's items.

    >>> index = ItemsIndex.build([Item("i1", "v1", "Pizza", "mains", 10.0, ("vegetarian",)),
    ...                           Item("i2", "v2", "Cola", "drinks", 3.0),
    ...                           Item("i3", "v1", "Beer", "drinks", 6.0, ("alcohol",))])
    >>> index.item_ids[index.of_venue("v1")].tolist()
    ['i1', 'i3']
    >>> index.set_available("i3", False)
    >>> index.columns.available[index.of_venue("v1")].tolist()
    [True, False]
    """

    def __init__(self, columns: ItemColumns) -> None:
        self._columns = columns
        self._lock = threading.Lock()

    @classmethod
    def build(cls, items: Iterable[Item]) -> ItemsIndex:
        """Index ``items`` (typically ``catalog.items.values()``)."""
        return cls(ItemColumns.from_items(items))

    @property
    def columns(self) -> ItemColumns:
        """The current snapshot; keep it for the whole request so rows stay consistent."""
        return self._columns

    @property
    def item_ids(self) -> npt.NDArray[np.object_]:
        """Item ids by row of the current snapshot."""
        return self._columns.item_ids

    def of_venue(self, venue_id: str) -> IntArray:
        """Rows of the venue's items (empty for a venue without items)."""
        start, end = self._columns.spans.get(venue_id, (0, 0))
        return np.arange(start, end, dtype=np.int32)

    def rows(self, item_ids: Sequence[str]) -> IntArray:
        """Row of each id, -1 for ids the index does not know."""
        positions = self._columns.positions
        return np.fromiter(
            (positions.get(item_id, -1) for item_id in item_ids),
            dtype=np.int32,
            count=len(item_ids),
        )

    def set_available(self, item_id: str, available: bool) -> None:
        """Sold out or back in stock, visible to the next query; unknown ids are ignored."""
        with self._lock:
            row = self._columns.positions.get(item_id)
            if row is not None:
                self._columns.available[row] = available

    def rebuild(self, items: Iterable[Item]) -> None:
        """Swap in a snapshot of ``items`` (after upserts that add, move or reprice items)."""
        columns = ItemColumns.from_items(items)
        with self._lock:
            self._columns = columns
