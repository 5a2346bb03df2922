"""Candidate source: every venue that delivers to the customer and is open right now."""

from __future__ import annotations

import numpy as np

from palate.catalog.index import VenueIndex
from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates

SOURCE_FEATURES = ("distance_m", "rating", "rating_count", "prep_time_min", "price_level")


class DeliverableVenues:
    """Geo + opening-hours lookup in the serving index, with the venue attributes it holds."""

    name = "deliverable_venues"

    def __init__(self, index: VenueIndex) -> None:
        self.index = index

    def fetch(self, request: RankingRequest) -> Candidates:
        """Open venues whose delivery area covers the request location."""
        found = self.index.deliverable(request.location, request.when)
        positions = found.indices.astype(np.int32, copy=False)
        columns = found.columns  # the snapshot the positions belong to, even if a swap happens
        return Candidates(
            positions,
            {
                "distance_m": found.distance_m.astype(np.float64, copy=False),
                "rating": columns.rating[positions].astype(np.float64),
                "rating_count": columns.rating_count[positions].astype(np.float64),
                "prep_time_min": columns.prep_time_min[positions].astype(np.float64),
                "price_level": columns.price_level[positions].astype(np.float64),
            },
        )
