"""The feature service: events in (write path), named columns out (read paths).

``ingest`` turns a batch of events into one store write; ``venue_features`` and
``item_features`` gather what every enabled feature needs into one store read (one Redis round
trip) and return float columns aligned with the ids asked for. Ids stay strings here; mapping
them to index positions is the serving layer's business.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from palate.features.base import Columns, Finish, ItemRequest, VenueFeature, VenueRequest
from palate.features.co_purchase import CoPurchase, summed, summed_aligned
from palate.features.event_frame import EventFrame
from palate.features.feature_set import FeatureSet
from palate.features.store import FeatureStore, MapValues, ReadBatch, ReadResults, WriteBatch
from palate.features.venue_attributes import VenueAttributes
from palate.features.venue_frame import Rows, VenueFeatureFrame
from palate.features.venue_profile import VenueProfile
from palate.pipeline.candidates import FloatArray
from palate.pipeline.id_lookup import Keys, as_str_array

Ids = Sequence[str] | npt.NDArray[np.str_] | npt.NDArray[np.object_]


def epoch_seconds(moment: datetime) -> float:
    """Seconds since the epoch of an aware datetime; naive ones are refused.

    >>> from datetime import UTC
    >>> epoch_seconds(datetime(1970, 1, 1, 0, 1, tzinfo=UTC))
    60.0
    """
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC or with an offset)")
    return moment.timestamp()


def _ids(ids: Ids) -> tuple[str, ...]:
    return tuple(ids.tolist()) if isinstance(ids, np.ndarray) else tuple(ids)


class FeatureService:
    """Features over one store, for one feature set and the current venue facts."""

    def __init__(
        self,
        store: FeatureStore,
        features: FeatureSet | None = None,
        attributes: VenueAttributes | None = None,
        *,
        frame_max_age_s: float = 0.0,
        frame_refresh: bool = True,
    ) -> None:
        self.store = store
        self.features = features or FeatureSet.from_config()
        self._attributes = attributes or VenueAttributes.empty()
        self._generation = 0  # bumped when venue facts or batch snapshots change
        self.venue_frame = VenueFeatureFrame(
            self._venue_only_columns, frame_max_age_s, refresh=frame_refresh
        )

    @property
    def attributes(self) -> VenueAttributes:
        """The venue facts in use."""
        return self._attributes

    def update_attributes(self, attributes: VenueAttributes) -> None:
        """Swap the venue facts (after a catalog change); requests in flight keep the old ones."""
        self._attributes = attributes
        self._generation += 1

    # ---- write path ------------------------------------------------------------------------

    def ingest(self, events: pa.Table) -> int:
        """Apply a batch of events (``EVENT_SCHEMA``) in one store write; returns state updates.

        Event time drives every feature, so late and out-of-order batches land where they
        happened. Duplicates are the caller's to drop (ingestion is idempotent by event id).
        """
        frame = EventFrame.from_arrow(events, self._attributes)
        batch = WriteBatch()
        for feature in self.features.features:
            feature.write(frame, batch)
        if len(batch):
            self.store.write(batch)
            if self.venue_frame.enabled:
                self.venue_frame.touch(frame.venue_funnel["venue_id"].unique().to_list())
        return len(batch)

    def refresh_snapshots(self, events: pa.Table, now: datetime) -> dict[str, int]:
        """Rebuild the batch-computed features from an event log; returns each new version."""
        frame = EventFrame.from_arrow(events, self._attributes)
        versions = {
            feature.name: feature.refresh(self.store, frame, epoch_seconds(now))
            for feature in self.features.features
            if isinstance(feature, VenueProfile)
        }
        self._generation += 1
        return versions

    # ---- read paths ------------------------------------------------------------------------

    def venue_features(self, user_id: str | None, venue_ids: Ids, now: datetime) -> Columns:
        """Every venue column, aligned with ``venue_ids``, from one store read."""
        return self._venue_columns(self.features.venue_features, user_id, venue_ids, now)

    def venue_features_at(
        self, user_id: str | None, universe: npt.NDArray[np.object_], rows: Rows, now: datetime
    ) -> Columns:
        """Like :meth:`venue_features` for ``universe[rows]``, the serving fast path: the
        venue-only columns come from the materialised :class:`VenueFeatureFrame` (one gather),
        the customer's from one store read of that customer's state."""
        reads = ReadBatch()
        finish = self.plan_venue_features_at(reads, user_id, universe, rows, now)
        return finish(self.store.read(reads, epoch_seconds(now)))

    def plan_venue_features_at(
        self,
        reads: ReadBatch,
        user_id: str | None,
        universe: npt.NDArray[np.object_],
        rows: Rows,
        now: datetime,
    ) -> Finish:
        """:meth:`venue_features_at` planned into a batch shared with other reads (one round
        trip); the returned function makes the columns from that batch's results."""
        ts, attributes = epoch_seconds(now), self._attributes
        if not self.venue_frame.enabled:
            ids = as_str_array(universe[rows])
            request = VenueRequest(user_id, ids, ts, now, attributes)
            return self._planned(self.features.venue_features, request, reads)
        shared = self.venue_frame.columns(universe, rows, ts, self._generation)
        view = self.venue_frame.view(universe, attributes)
        request = VenueRequest(
            user_id, view.ids[rows], ts, now, attributes, rows=view.attribute_rows[rows]
        )
        own = self._planned(self.features.personal_venue_features, request, reads)
        names = self.features.venue_columns

        def columns(results: ReadResults) -> Columns:
            mine = own(results)
            return {name: mine[name] if name in mine else shared[name] for name in names}

        return columns

    def _planned(
        self, features: Sequence[VenueFeature], request: VenueRequest, reads: ReadBatch
    ) -> Finish:
        finishers = [f.plan_venues(request, reads) for f in features]
        return functools.partial(_merged, finishers)

    def _venue_only_columns(self, venue_ids: Keys, now: float) -> Columns:
        shared = [f for f in self.features.venue_features if not f.per_customer]
        moment = datetime.fromtimestamp(now, UTC)
        return self._venue_columns(shared, None, as_str_array(venue_ids), moment)

    def _venue_columns(
        self,
        features: Sequence[VenueFeature],
        user_id: str | None,
        venue_ids: Ids | npt.NDArray[np.object_],
        now: datetime,
    ) -> Columns:
        ids = as_str_array(venue_ids)
        request = VenueRequest(user_id, ids, epoch_seconds(now), now, self._attributes)
        return self._run_venue_features(features, request)

    def _run_venue_features(
        self, features: Sequence[VenueFeature], request: VenueRequest
    ) -> Columns:
        reads = ReadBatch()
        finish = self._planned(features, request, reads)
        return finish(self.store.read(reads, request.now))

    def item_features(
        self,
        user_id: str | None,
        venue_id: str,
        item_ids: Ids,
        now: datetime,
        cart: Sequence[str] = (),
    ) -> Columns:
        """Every item column, aligned with ``item_ids``, from one store read."""
        reads = ReadBatch()
        finish = self.plan_item_features(reads, user_id, venue_id, item_ids, now, cart)
        return finish(self.store.read(reads, epoch_seconds(now)))

    def plan_item_features(
        self,
        reads: ReadBatch,
        user_id: str | None,
        venue_id: str,
        item_ids: Ids,
        now: datetime,
        cart: Sequence[str] = (),
    ) -> Finish:
        """:meth:`item_features` planned into a batch shared with other reads (one round trip);
        the returned function makes the columns from that batch's results."""
        ids = _ids(item_ids)
        request = ItemRequest(user_id, venue_id, ids, tuple(cart), epoch_seconds(now), now)
        finishers = [f.plan_items(request, reads) for f in self.features.item_features]
        return functools.partial(_merged, finishers)

    def co_purchase(
        self, venue_id: str, anchor_item_ids: Sequence[str], candidate_item_ids: Ids, now: datetime
    ) -> FloatArray:
        """For each candidate item, its co-purchase count summed over the anchors (0 when off)."""
        ids = list(_ids(candidate_item_ids))
        feature = self.features.get("co_purchase")
        if not isinstance(feature, CoPurchase) or not ids:
            return np.zeros(len(ids))
        reads = ReadBatch()
        anchors = dict.fromkeys(anchor_item_ids)
        handles = [
            reads.map(feature.spec, venue_id, sub=a, fields=ids, bounded=True) for a in anchors
        ]
        results = self.store.read(reads, epoch_seconds(now))
        return summed_aligned([results[h] for h in handles], len(ids))

    def frequently_bought_with(
        self, venue_id: str, anchor_item_ids: Sequence[str], now: datetime, limit: int = 20
    ) -> tuple[list[str], FloatArray]:
        """The items most often bought with the anchors (anchors excluded), strongest first."""
        feature = self.features.get("co_purchase")
        if not isinstance(feature, CoPurchase):
            return [], np.zeros(0)
        reads = ReadBatch()
        anchors = list(dict.fromkeys(anchor_item_ids))
        handles = [reads.map(feature.spec, venue_id, sub=a) for a in anchors]
        results = self.store.read(reads, epoch_seconds(now))
        maps = [results[h] for h in handles]
        names = np.unique(np.concatenate([m.fields for m in maps] or [MapValues.empty().fields]))
        names = names[~np.isin(names, anchors)]
        totals = summed(maps, names.tolist())
        order = np.lexsort((names, -totals))[:limit]
        return names[order].tolist(), totals[order]


def _merged(finishers: Sequence[Finish], results: ReadResults) -> Columns:
    """Every finisher's columns from one batch's results."""
    columns: Columns = {}
    for finish in finishers:
        columns.update(finish(results))
    return columns
