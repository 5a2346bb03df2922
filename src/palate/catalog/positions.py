"""Vectorised lookups from venue ids to serving-index positions."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from palate.catalog.index import VenueIndex
from palate.pipeline.id_lookup import IdLookup


def venue_positions(
    index: VenueIndex, venue_ids: pa.Array | pa.ChunkedArray
) -> npt.NDArray[np.int32]:
    """Index positions of ``venue_ids``; -1 for ids the index does not know."""
    asked = pl.Series(venue_ids).cast(pl.Utf8).fill_null("").to_numpy().astype(np.str_)
    return _lookup(index).positions(asked).astype(np.int32)


_cached: tuple[object, IdLookup] | None = None


def _lookup(index: VenueIndex) -> IdLookup:
    """The id lookup of the index's current snapshot, built once per catalog version (this
    runs per ingested batch; rebuilding it each time cost more than the lookup)."""
    global _cached
    ids = index.venue_ids
    cached = _cached
    if cached is None or cached[0] is not ids:
        cached = (ids, IdLookup(ids))
        _cached = cached
    return cached[1]
