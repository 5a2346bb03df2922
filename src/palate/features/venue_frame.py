"""Venue-level feature columns of every venue, materialised for the ranking hot path.

Popularity, engagement and the venue profile do not depend on the customer, yet reading them
per request costs one store lookup per candidate — a thousand dictionary or Redis lookups for a
Discovery page. The frame computes them once for every venue of the catalog (with the very
features' own read code, so serving and training cannot drift) into one row-major float
matrix, and a request gathers its candidates' rows with a single fancy index.

Freshness: events ingested by this process mark their venues; the next read recomputes just
those rows, so a click is visible to the next ranking here. The whole frame is recomputed when
the request time is more than ``max_age_s`` away from the time it was computed for, when it
crosses a quarter-hour (hour-of-week features change bucket; quarter hours respect every time
zone offset), or after a snapshot refresh or a catalog change. Writes made by *other* replicas
(through Redis) are therefore visible within ``max_age_s``. ``max_age_s = 0`` turns the frame
off: every read goes to the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from palate.features.base import Columns
from palate.features.venue_attributes import VenueAttributes
from palate.pipeline.candidates import FloatArray
from palate.pipeline.id_lookup import IdLookup, Keys, as_str_array

QUARTER_HOUR_S = 900.0
Rows = npt.NDArray[np.intp] | npt.NDArray[np.int32]
ComputeColumns = Callable[[Keys, float], Columns]  # venue-only columns of these ids at ``now``


@dataclass(frozen=True, slots=True)
class _Snapshot:
    universe: object  # the venue-id array it was built over; identity marks a catalog change
    generation: int  # the service's snapshot/attribute generation it saw
    computed_at: float  # epoch seconds the values were decayed to
    names: tuple[str, ...]
    values: npt.NDArray[np.float64]  # (venues, columns)
    lookup: IdLookup  # venue id → row, for patching


@dataclass(frozen=True, slots=True)
class UniverseView:
    """A universe's ids as a unicode array and their positions in the venue attributes:
    both computed once per catalog version, gathered per request."""

    universe: object
    attributes: VenueAttributes
    ids: npt.NDArray[np.str_]
    attribute_rows: npt.NDArray[np.intp]


class VenueFeatureFrame:
    """The venue-only columns for every venue id of a universe (the serving index's order)."""

    def __init__(self, compute: ComputeColumns, max_age_s: float) -> None:
        self._compute = compute
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._touched: set[str] = set()
        self._view: UniverseView | None = None
        self.full_builds = 0
        self.patched_rows = 0

    @property
    def enabled(self) -> bool:
        """False when ``max_age_s`` is 0: callers read the store directly."""
        return self.max_age_s > 0

    def view(self, universe: npt.NDArray[np.object_], attributes: VenueAttributes) -> UniverseView:
        """The id and attribute-position arrays of ``universe`` (cached per version of both)."""
        view = self._view
        if view is None or view.universe is not universe or view.attributes is not attributes:
            ids = as_str_array(universe)
            view = UniverseView(universe, attributes, ids, attributes.positions(ids))
            self._view = view
        return view

    def touch(self, venue_ids: Iterable[str]) -> None:
        """Venues whose state this process just changed; their rows are recomputed on read."""
        with self._lock:
            self._touched.update(venue_ids)

    def columns(
        self, universe: npt.NDArray[np.object_], rows: Rows, now: float, generation: int
    ) -> Columns:
        """The venue-only columns of ``universe[rows]`` as of ``now`` (within ``max_age_s``)."""
        snapshot = self._current(universe, now, generation)
        block = snapshot.values[rows]
        return {name: block[:, k] for k, name in enumerate(snapshot.names)}

    def _current(self, universe: npt.NDArray[np.object_], now: float, generation: int) -> _Snapshot:
        with self._lock:
            base, touched = self._snapshot, self._touched
            self._touched = set()
        if base is None or not self._still_valid(base, universe, now, generation):
            snapshot = self._build(universe, now, generation)
        elif touched:
            snapshot = self._patch(base, universe, touched, now)
        else:
            return base
        with self._lock:
            if self._snapshot is base:  # a concurrent reader may have stored a newer one
                self._snapshot = snapshot
        return snapshot

    def _still_valid(
        self, snapshot: _Snapshot, universe: object, now: float, generation: int
    ) -> bool:
        return (
            snapshot.universe is universe
            and snapshot.generation == generation
            and abs(now - snapshot.computed_at) <= self.max_age_s
            and now // QUARTER_HOUR_S == snapshot.computed_at // QUARTER_HOUR_S
        )

    def _build(self, universe: npt.NDArray[np.object_], now: float, generation: int) -> _Snapshot:
        names, values = _stack(self._compute(universe, now), len(universe))
        self.full_builds += 1
        return _Snapshot(universe, generation, now, names, values, IdLookup(universe))

    def _patch(
        self, snapshot: _Snapshot, universe: npt.NDArray[np.object_], touched: set[str], now: float
    ) -> _Snapshot:
        """Recompute the touched venues' rows into a copy (readers keep the old matrix)."""
        where = snapshot.lookup.positions(sorted(touched))
        where = where[where >= 0]
        if not len(where):
            return snapshot
        _, fresh = _stack(self._compute(universe[where], now), len(where), snapshot.names)
        values = snapshot.values.copy()
        values[where] = fresh
        self.patched_rows += len(where)
        # computed_at stays: the untouched rows are as old as they were
        return _Snapshot(
            universe,
            snapshot.generation,
            snapshot.computed_at,
            snapshot.names,
            values,
            snapshot.lookup,
        )


def _stack(
    columns: Columns, n: int, names: tuple[str, ...] | None = None
) -> tuple[tuple[str, ...], npt.NDArray[np.float64]]:
    order = tuple(columns) if names is None else names
    values = np.empty((n, len(order)), dtype=np.float64)
    for k, name in enumerate(order):
        column: FloatArray = np.asarray(columns[name], dtype=np.float64)
        values[:, k] = column
    return order, values
