"""The pipeline's shared read over the feature store: one round trip for a request's reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import numpy as np

from palate.features.base import Columns, Finish
from palate.features.service import FeatureService, epoch_seconds
from palate.features.store import ReadBatch, ReadResults


class Timed(Protocol):
    """A query with the moment its reads decay to (a ranking request, an item query)."""

    @property
    def when(self) -> datetime:
        """The request's time."""
        ...


class FeatureReads:
    """``SharedReads`` of a pipeline (stage ``feature_reads``): the batch its hydrators and its
    caller plan into, read from the feature store in one call, decayed to the query's time."""

    name = "feature_reads"

    def __init__(self, features: FeatureService) -> None:
        self.features = features

    def batch(self) -> ReadBatch:
        """An empty batch."""
        return ReadBatch()

    def read(self, query: Timed, batch: ReadBatch) -> ReadResults:
        """Every planned read."""
        return self.features.store.read(batch, epoch_seconds(query.when))


def read_alone(
    features: FeatureService, query: Timed, plan: Callable[[ReadBatch], Finish]
) -> Columns:
    """A planned hydrator's columns from a store read of its own (no shared batch): what its
    ``hydrate`` does outside a pipeline with shared reads."""
    reads = ReadBatch()
    finish = plan(reads)
    return finish(FeatureReads(features).read(query, reads))


def as_float64(finish: Finish) -> Finish:
    """``finish`` with every column as a float64 array, the dtype candidates' columns hold."""

    def columns(results: ReadResults) -> Columns:
        return {
            name: np.asarray(values, dtype=np.float64) for name, values in finish(results).items()
        }

    return columns
