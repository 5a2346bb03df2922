"""Hydrators: the customer's and the venues' behavioural features, and the request context."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np

from palate.catalog.index import VenueIndex
from palate.catalog.opening import minute_of_week
from palate.domain.requests import RankingRequest
from palate.features.service import FeatureService
from palate.pipeline.candidates import Candidates, FloatArray

CONTEXT_FEATURES = ("eta_min", "local_hour", "local_weekday", "is_weekend")
COURIER_KM_PER_MIN = 0.25


class OnlineFeatures:
    """Every venue column of the online feature store, in one store round trip."""

    name = "online_features"

    def __init__(self, features: FeatureService, index: VenueIndex) -> None:
        self.features = features
        self.index = index

    def hydrate(self, request: RankingRequest, candidates: Candidates) -> dict[str, FloatArray]:
        """Customer×venue, affinity, price fit, popularity and engagement columns."""
        universe = self.index.venue_ids
        columns = self.features.venue_features_at(
            request.user_id, universe, candidates.positions, request.when
        )
        return {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()}


class RequestContext:
    """ETA and the local hour and weekday at each venue (venues may sit in several zones)."""

    name = "request_context"

    def __init__(self, index: VenueIndex) -> None:
        self.index = index

    def hydrate(self, request: RankingRequest, candidates: Candidates) -> dict[str, FloatArray]:
        """Columns named in :data:`CONTEXT_FEATURES`."""
        columns = self.index.columns
        zones = columns.timezone.vocabulary
        minutes = np.array(
            [minute_of_week(request.when, ZoneInfo(str(zone))) for zone in zones], dtype=np.int64
        )
        local = minutes[columns.timezone.codes[candidates.positions]]
        weekday = (local // 1440).astype(np.float64)
        eta = candidates.feature("prep_time_min") + (
            candidates.feature("distance_m") / 1000.0 / COURIER_KM_PER_MIN
        )
        return {
            "eta_min": eta,
            "local_hour": ((local % 1440) // 60).astype(np.float64),
            "local_weekday": weekday,
            "is_weekend": (weekday >= 5).astype(np.float64),
        }
