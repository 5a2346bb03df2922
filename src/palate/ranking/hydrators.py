"""Hydrators: the customer's and the venues' behavioural features, and the request context."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np

from palate.catalog.columns import VenueColumns
from palate.catalog.index import VenueIndex
from palate.catalog.opening import minute_of_week
from palate.domain.requests import RankingRequest
from palate.features.pipeline_reads import as_float64, read_alone
from palate.features.service import FeatureService
from palate.features.store import ReadBatch
from palate.pipeline.candidates import Candidates, FloatArray
from palate.pipeline.stages import Finish

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
        return read_alone(
            self.features, request, lambda reads: self.plan(request, candidates, reads)
        )

    def plan(self, request: RankingRequest, candidates: Candidates, reads: ReadBatch) -> Finish:
        """The customer's reads, in a batch the request's other reads may share."""
        return as_float64(
            self.features.plan_venue_features_at(
                reads, request.user_id, self.index.venue_ids, candidates.positions, request.when
            )
        )


class RequestContext:
    """ETA and the local hour and weekday at each venue (venues may sit in several zones)."""

    name = "request_context"

    def __init__(self, index: VenueIndex) -> None:
        self.index = index
        self._resolved: tuple[tuple[str, ...], tuple[ZoneInfo, ...]] | None = None

    def hydrate(self, request: RankingRequest, candidates: Candidates) -> dict[str, FloatArray]:
        """Columns named in :data:`CONTEXT_FEATURES`."""
        columns = self.index.columns
        minutes = np.array(
            [minute_of_week(request.when, zone) for zone in self._zones(columns)], dtype=np.int64
        )
        # Each zone's hour, weekday and weekend flag, then one gather (or fill) for all three.
        weekday = minutes // 1440
        by_zone = np.array([(minutes % 1440) // 60, weekday, weekday >= 5], dtype=np.float64)
        if len(minutes) == 1:
            local = np.repeat(by_zone, len(candidates), axis=1)
        else:
            local = by_zone.take(columns.timezone.codes.take(candidates.positions), axis=1)
        eta = candidates.feature("distance_m") / 1000.0
        eta /= COURIER_KM_PER_MIN
        eta += candidates.feature("prep_time_min")  # prep + travel, as the same floats
        return {
            "eta_min": eta,
            "local_hour": local[0],
            "local_weekday": local[1],
            "is_weekend": local[2],
        }

    def _zones(self, columns: VenueColumns) -> tuple[ZoneInfo, ...]:
        """The zones of ``columns``' timezone codes, resolved once per vocabulary."""
        vocabulary = columns.timezone.vocabulary
        cached = self._resolved
        if cached is not None and cached[0] is vocabulary:
            return cached[1]
        zones = tuple(ZoneInfo(str(zone)) for zone in vocabulary)
        self._resolved = (vocabulary, zones)  # one tuple: readers see old or new, never half
        return zones
