"""Candidate source: every venue that delivers to the customer and is open right now."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from palate.catalog.columns import VenueColumns
from palate.catalog.index import VenueIndex
from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates

SOURCE_FEATURES = ("distance_m", "rating", "rating_count", "prep_time_min", "price_level")
_ATTRIBUTES = SOURCE_FEATURES[1:]  # the ones read from the catalog columns

FloatMatrix = npt.NDArray[np.float64]


class DeliverableVenues:
    """Geo + opening-hours lookup in the serving index, with the venue attributes it holds."""

    name = "deliverable_venues"

    def __init__(self, index: VenueIndex) -> None:
        self.index = index
        self._attributes: tuple[VenueColumns, FloatMatrix] | None = None

    def fetch(self, request: RankingRequest) -> Candidates:
        """Open venues whose delivery area covers the request location."""
        found = self.index.deliverable(request.location, request.when)
        positions = found.indices.astype(np.int32, copy=False)
        # The snapshot the positions belong to, even if a swap happens; one gather for all.
        rows = self._attribute_rows(found.columns).take(positions, axis=1)
        features = {"distance_m": found.distance_m.astype(np.float64, copy=False)}
        features.update(zip(_ATTRIBUTES, rows, strict=True))
        return Candidates(positions, features)

    def _attribute_rows(self, columns: VenueColumns) -> FloatMatrix:
        """The catalog attributes as float64 rows, converted once per snapshot (immutable)."""
        cached = self._attributes
        if cached is not None and cached[0] is columns:
            return cached[1]
        rows = np.array([getattr(columns, name) for name in _ATTRIBUTES], dtype=np.float64)
        self._attributes = (columns, rows)  # one tuple: readers see old or new, never half
        return rows
