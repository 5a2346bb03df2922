"""The serving catalog: a columnar venue index for real-time queries, and catalog persistence."""

from __future__ import annotations

from palate.catalog.columns import STATUS_ORDER, Codes, MultiHot, VenueColumns
from palate.catalog.index import Candidates, VenueIndex
from palate.catalog.store import load_catalog, save_catalog

__all__ = [
    "STATUS_ORDER",
    "Candidates",
    "Codes",
    "MultiHot",
    "VenueColumns",
    "VenueIndex",
    "load_catalog",
    "save_catalog",
]
