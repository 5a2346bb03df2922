"""What a feature is: a write path from events to store updates, and read paths to columns.

A read path has two halves so that every feature of a request shares one store round trip:
``plan_*`` adds the reads it needs to a shared :class:`~palate.features.store.ReadBatch` and
returns a function that turns the answers into named float columns aligned with the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from palate.features.event_frame import EventFrame
from palate.features.store import ReadBatch, ReadResults, WriteBatch
from palate.features.venue_attributes import VenueAttributes
from palate.pipeline.candidates import FloatArray

Columns = dict[str, FloatArray]
Finish = Callable[[ReadResults], Columns]


@dataclass(frozen=True, slots=True)
class VenueRequest:
    """Features of candidate venues for one customer (``user_id`` None: anonymous)."""

    user_id: str | None
    venue_ids: tuple[str, ...] | npt.NDArray[np.str_]
    now: float
    moment: datetime
    attributes: VenueAttributes
    rows: npt.NDArray[np.intp] | None = None  # positions in ``attributes``, when known

    def attribute_rows(self) -> npt.NDArray[np.intp]:
        """Each venue's position in ``attributes`` (-1 when unknown)."""
        if self.rows is not None:
            return self.rows
        return self.attributes.positions(self.venue_ids)


@dataclass(frozen=True, slots=True)
class ItemRequest:
    """Features of candidate items of one venue; ``cart`` holds the items already chosen."""

    user_id: str | None
    venue_id: str
    item_ids: tuple[str, ...]
    cart: tuple[str, ...]
    now: float
    moment: datetime


@runtime_checkable
class Feature(Protocol):
    """A feature's write path."""

    name: str

    def write(self, events: EventFrame, batch: WriteBatch) -> None:
        """Add the state updates that ``events`` imply to ``batch``."""
        ...


@runtime_checkable
class VenueFeature(Feature, Protocol):
    """A feature with columns per candidate venue."""

    venue_columns: tuple[str, ...]
    per_customer: bool
    """Whether the columns depend on the customer; venue-only ones can be materialised once
    for every venue and shared by all requests (see :mod:`palate.features.venue_frame`)."""

    def plan_venues(self, request: VenueRequest, reads: ReadBatch) -> Finish:
        """Register reads; the returned function builds the columns from the answers."""
        ...


@runtime_checkable
class ItemFeature(Feature, Protocol):
    """A feature with columns per candidate item."""

    item_columns: tuple[str, ...]

    def plan_items(self, request: ItemRequest, reads: ReadBatch) -> Finish:
        """Register reads; the returned function builds the columns from the answers."""
        ...


def constant(value: float, n: int) -> FloatArray:
    """A column holding ``value`` for each of ``n`` rows."""
    return np.full(n, value, dtype=np.float64)
