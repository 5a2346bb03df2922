"""Vectorised lookups from venue ids to serving-index positions."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from palate.catalog.index import VenueIndex


def venue_positions(
    index: VenueIndex, venue_ids: pa.Array | pa.ChunkedArray
) -> npt.NDArray[np.int32]:
    """Index positions of ``venue_ids``; -1 for ids the index does not know."""
    known = pl.DataFrame(
        {"venue_id": index.venue_ids, "pos": np.arange(len(index.venue_ids), dtype=np.int32)}
    )
    asked = pl.DataFrame({"venue_id": pl.Series(venue_ids).cast(pl.Utf8)})
    joined = asked.join(known, on="venue_id", how="left", maintain_order="left")
    positions: npt.NDArray[np.int32] = joined["pos"].fill_null(-1).to_numpy().astype(np.int32)
    return positions
