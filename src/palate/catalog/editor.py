"""Applies catalog changes to the live catalog and its serving index, and checkpoints them.

The editor is the only writer of the serving catalog. Each change is logged durably first
(:class:`CatalogChangelog`), then applied: the next ranking sees it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from palate.catalog.index import VenueIndex
from palate.catalog.items_index import ItemsIndex
from palate.catalog.store import save_catalog
from palate.domain.catalog import Banner, Catalog, Category, Item
from palate.domain.venue import Venue, VenueStatus

NEVER = np.float64(-np.inf)


class UnknownEntityError(KeyError):
    """A change names a venue, item or city the catalog does not have."""


class CatalogEditor:
    """Upserts and partial updates of venues, items, banners and categories."""

    def __init__(self, catalog: Catalog, index: VenueIndex, checkpoint_dir: Path | None) -> None:
        self.catalog = catalog
        self.index = index
        self.checkpoint_dir = checkpoint_dir
        self._lock = threading.Lock()
        # Temporary closures: seconds since the epoch until which each venue is closed.
        self.closed_until: npt.NDArray[np.float64] = np.full(len(index), NEVER)
        self.items = ItemsIndex.build(catalog.items.values())

    def upsert_venues(self, venues: Iterable[Venue]) -> int:
        """Add or replace venues; new venues are appended to the index."""
        venues = list(venues)
        for venue in venues:
            if venue.city_id not in self.catalog.cities:
                raise UnknownEntityError(f"city {venue.city_id!r} of venue {venue.id!r}")
        with self._lock:
            self.index.upsert(venues)
            for venue in venues:
                self.catalog.venues[venue.id] = venue
            self._grow_closures()
        return len(venues)

    def set_venue_status(self, venue_id: str, status: VenueStatus) -> None:
        """Pause, resume or mark busy; visible to the next query."""
        with self._lock:
            venue = self._venue(venue_id)
            self.index.set_status(venue_id, status)
            self.catalog.venues[venue_id] = replace(venue, status=status)

    def close_until(self, venue_id: str, until: datetime | None) -> None:
        """Close a venue temporarily (``None`` reopens it)."""
        with self._lock:
            self._venue(venue_id)
            position = self.index.position(venue_id)
            self.closed_until[position] = NEVER if until is None else until.timestamp()

    def upsert_items(self, items: Iterable[Item]) -> int:
        """Add or replace items; their venues must exist."""
        items = list(items)
        for item in items:
            self._venue(item.venue_id)
        with self._lock:
            for item in items:
                self.catalog.items[item.id] = item
            self.items.rebuild(self.catalog.items.values())
        return len(items)

    def set_item_availability(self, item_id: str, available: bool) -> None:
        """Mark an item sold out or back in stock."""
        with self._lock:
            item = self.catalog.items.get(item_id)
            if item is None:
                raise UnknownEntityError(f"item {item_id!r}")
            self.catalog.items[item_id] = replace(item, available=available)
            self.items.set_available(item_id, available)

    def upsert_banners(self, banners: Iterable[Banner]) -> int:
        """Add or replace banners."""
        banners = list(banners)
        with self._lock:
            self.catalog.banners.update({b.id: b for b in banners})
        return len(banners)

    def upsert_categories(self, categories: Iterable[Category]) -> int:
        """Add or replace food categories."""
        categories = list(categories)
        with self._lock:
            self.catalog.categories.update({c.id: c for c in categories})
        return len(categories)

    def checkpoint(self) -> None:
        """Write the whole catalog (the changelog can then be truncated)."""
        if self.checkpoint_dir is not None:
            with self._lock:
                save_catalog(self.catalog, self.checkpoint_dir)

    def _venue(self, venue_id: str) -> Venue:
        venue = self.catalog.venues.get(venue_id)
        if venue is None:
            raise UnknownEntityError(f"venue {venue_id!r}")
        return venue

    def _grow_closures(self) -> None:
        missing = len(self.index) - len(self.closed_until)
        if missing > 0:
            self.closed_until = np.concatenate([self.closed_until, np.full(missing, NEVER)])
