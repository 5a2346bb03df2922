"""The item hydrator of popularity at this hour, in the local time of the venue's city."""

from __future__ import annotations

import functools

from palate.catalog.item_query import ItemQuery
from palate.features.item_hours import ItemHourPopularity
from palate.features.pipeline_reads import as_float64, read_alone
from palate.features.service import FeatureService
from palate.features.store import ReadBatch, ReadResults
from palate.pipeline.candidates import Candidates, FloatArray
from palate.pipeline.stages import Finish


class ItemHourFeatures:
    """Columns ``item_pop_hour`` and ``item_hour_lift`` (none when the feature is off).

    Scorers and the "Popular now" section fall back to all-day popularity without them.
    """

    name = "item_hour_features"

    def __init__(self, features: FeatureService) -> None:
        self.features = features

    def hydrate(self, query: ItemQuery, candidates: Candidates) -> dict[str, FloatArray]:
        """One store read: this hour's and the whole day's quantities, and the venue's rhythm."""
        return read_alone(self.features, query, lambda reads: self.plan(query, candidates, reads))

    def plan(self, query: ItemQuery, candidates: Candidates, reads: ReadBatch) -> Finish:
        """This hour's and the whole day's maps and the rhythm, in a shared batch."""
        feature = self.features.features.get("item_hour_popularity")
        if not isinstance(feature, ItemHourPopularity) or not len(candidates):
            return _no_columns
        ids = query.columns.item_ids[candidates.positions].tolist()
        zone = self.features.attributes.timezones.get(query.venue_id)
        planned = feature.plan(reads, query.venue_id, ids, feature.hour_at(query.when, zone))

        return as_float64(functools.partial(feature.columns, planned=planned))


def _no_columns(results: ReadResults) -> dict[str, FloatArray]:  # noqa: ARG001
    return {}
