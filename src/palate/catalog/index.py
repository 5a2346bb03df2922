"""The serving venue index: which venues deliver here and are open now, in microseconds.

:class:`VenueIndex` holds an immutable snapshot (attribute columns, geo grid, polygons,
opening table) behind one reference. Readers take the reference once per query; writers build
a new snapshot and swap it in, so a reader never sees half an update. The only in-place write
is a venue's status code (one array element), which is what makes ``set_status`` O(1).

Venue positions are stable for the life of an index: :meth:`VenueIndex.upsert` keeps existing
venues where they are and appends new ones, so arrays aligned by position elsewhere (order
counts, embeddings) stay valid. To take a venue off the marketplace, pause it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt

from palate.catalog.columns import PAUSED_CODE, STATUS_CODE, Codes, MultiHot, VenueColumns
from palate.catalog.geo_grid import Boxes, Discs, GeoGrid
from palate.catalog.opening import OpeningTable, OpenNow, ZoneClock
from palate.catalog.polygons import PolygonSet
from palate.domain.catalog import Catalog
from palate.domain.geo import Location
from palate.domain.venue import Venue, VenueStatus

MIN_CELL_M = 250.0
MAX_CELL_M = 20_000.0


@dataclass(frozen=True, slots=True, eq=False)
class Candidates:
    """Deliverable venues: positions (ascending) and distances in metres, aligned.

    ``columns`` is the snapshot the positions refer to; read attributes from it to stay
    consistent even if the index is updated meanwhile.
    """

    indices: npt.NDArray[np.int32]
    distance_m: npt.NDArray[np.float64]
    columns: VenueColumns

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def venue_ids(self) -> npt.NDArray[np.object_]:
        """The venue ids, aligned with ``indices``."""
        return self.columns.venue_ids[self.indices]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    columns: VenueColumns
    discs: Discs = field(repr=False)
    grid: GeoGrid = field(repr=False)
    polygons: PolygonSet = field(repr=False)
    open_now: OpenNow = field(repr=False)
    clock: ZoneClock = field(repr=False)

    @classmethod
    def build(
        cls, venues: Sequence[Venue], timezones: Sequence[str], cell_m: float | None
    ) -> _Snapshot:
        columns = VenueColumns.from_venues(venues, timezones)
        polygons = PolygonSet.build([v.delivery_polygon for v in venues])
        # Polygon venues reach their polygon's box, all others their disc's.
        boxes = Boxes.of_discs(columns.lat, columns.lon, columns.delivery_radius_m).override(
            *polygons.vertex_boxes()
        )
        if cell_m is None:
            cell_m = default_cell_m(columns.delivery_radius_m)
        reference_lat = float(np.median(columns.lat)) if len(venues) else 0.0
        return cls(
            columns=columns,
            discs=Discs.of(columns.lat, columns.lon, columns.delivery_radius_m),
            grid=GeoGrid.build(boxes, cell_m, reference_lat),
            polygons=polygons,
            open_now=OpenNow(
                OpeningTable.from_hours([v.opening_hours for v in venues]), columns.timezone.codes
            ),
            clock=ZoneClock.of(columns.timezone.vocabulary),
        )

    def deliverable(self, location: Location, when: datetime) -> Candidates:
        lat, lon = location.lat, location.lon
        idx = self.grid.lookup(lat, lon)
        # Status and hours first: both are cheap gathers and drop about half the cell.
        keep = self.open_now.is_open(idx, self.clock.minutes(when))
        keep &= self.columns.status.take(idx) != PAUSED_CODE
        idx = idx.compress(keep)
        chord2 = self.discs.chord2(idx, lat, lon)
        inside = chord2 <= self.discs.chord2_max.take(idx)
        polygon = self.columns.has_polygon.take(idx)
        if polygon.any():
            inside[polygon] = self.polygons.contains(idx.compress(polygon), lat, lon)
        return Candidates(
            idx.compress(inside).astype(np.int32),
            self.discs.metres(chord2.compress(inside)),
            self.columns,
        )


def default_cell_m(radius_m: npt.NDArray[np.float64]) -> float:
    """Half the median delivery radius: few cells per venue, few false candidates per cell.

    >>> default_cell_m(np.array([3000.0, 5000.0, 4000.0]))
    2000.0
    """
    if len(radius_m) == 0:
        return MAX_CELL_M
    return float(np.clip(np.median(radius_m) / 2, MIN_CELL_M, MAX_CELL_M))


class VenueIndex:
    """Read-optimised, columnar view of a catalog's venues for serving.

    >>> from datetime import UTC
    >>> from palate.domain import City, Market, WeeklyHours
    >>> catalog = Catalog(
    ...     markets={"fi": Market("fi", "FI", "EUR", "Europe/Helsinki")},
    ...     cities={"hel": City("hel", "Helsinki", "fi", Location(60.17, 24.94))},
    ...     venues={"v1": Venue("v1", "Pizza", "hel", Location(60.17, 24.94), 2000.0,
    ...                         WeeklyHours.daily("10:00", "22:00"))},
    ... )
    >>> index = VenueIndex.build(catalog)
    >>> noon = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)  # 12:00 in Helsinki
    >>> index.deliverable(Location(60.175, 24.94), noon).venue_ids.tolist()
    ['v1']
    >>> index.set_status("v1", VenueStatus.PAUSED)
    >>> len(index.deliverable(Location(60.175, 24.94), noon))
    0
    """

    def __init__(
        self,
        venues: Iterable[Venue],
        city_timezones: Mapping[str, str],
        *,
        cell_m: float | None = None,
    ) -> None:
        self._write_lock = threading.Lock()
        self._city_timezones = dict(city_timezones)
        self._cell_m = cell_m
        self._venues: dict[str, Venue] = {}
        self._venues, self._snapshot = self._rebuild(venues)

    @classmethod
    def build(cls, catalog: Catalog, *, cell_m: float | None = None) -> VenueIndex:
        """Index every venue of ``catalog``; ``cell_m`` overrides the grid cell size."""
        city_timezones = {
            city.id: city.timezone or catalog.markets[city.market_id].timezone
            for city in catalog.cities.values()
        }
        return cls(catalog.venues.values(), city_timezones, cell_m=cell_m)

    def deliverable(self, location: Location, when: datetime) -> Candidates:
        """Venues that deliver to ``location``, are open at ``when`` locally, and not paused."""
        if when.tzinfo is None:
            raise ValueError("when must be timezone-aware")
        return self._snapshot.deliverable(location, when)

    def set_status(self, venue_id: str, status: VenueStatus) -> None:
        """Change one venue's status; the next query sees it. Raises ``KeyError`` if unknown."""
        with self._write_lock:
            snapshot = self._snapshot
            position = snapshot.columns.position(venue_id)
            self._venues[venue_id] = replace(self._venues[venue_id], status=status)
            snapshot.columns.status[position] = STATUS_CODE[status]

    def upsert(
        self, venues: Iterable[Venue], *, city_timezones: Mapping[str, str] | None = None
    ) -> None:
        """Add or replace venues; rebuilds off to the side, then swaps the snapshot in.

        ``city_timezones`` registers cities new to the index (city id → IANA zone). Readers
        are never blocked; ``set_status`` waits for the rebuild (tens of ms at 10k venues).
        """
        with self._write_lock:
            if city_timezones:
                self._city_timezones = {**self._city_timezones, **city_timezones}
            self._venues, self._snapshot = self._rebuild(venues)

    def _rebuild(self, venues: Iterable[Venue]) -> tuple[dict[str, Venue], _Snapshot]:
        """The merged venue records and their snapshot; assigns nothing."""
        merged = dict(self._venues)
        for venue in venues:
            if venue.city_id not in self._city_timezones:
                raise ValueError(f"venue {venue.id!r} is in unknown city {venue.city_id!r}")
            merged[venue.id] = venue
        ordered = list(merged.values())
        timezones = [self._city_timezones[v.city_id] for v in ordered]
        return merged, _Snapshot.build(ordered, timezones, self._cell_m)

    def __len__(self) -> int:
        return len(self._snapshot.columns)

    def __contains__(self, venue_id: object) -> bool:
        return venue_id in self._snapshot.columns.positions

    def venue(self, venue_id: str) -> Venue:
        """The current venue record, status changes included."""
        return self._venues[venue_id]

    def position(self, venue_id: str) -> int:
        """The venue's row in every column; raises ``KeyError`` if unknown."""
        return self._snapshot.columns.position(venue_id)

    @property
    def columns(self) -> VenueColumns:
        """The current attribute columns (take once and reuse for a consistent view)."""
        return self._snapshot.columns

    @property
    def venue_ids(self) -> npt.NDArray[np.object_]:
        """Venue ids by position."""
        return self._snapshot.columns.venue_ids

    @property
    def lat(self) -> npt.NDArray[np.float64]:
        """Venue latitude by position."""
        return self._snapshot.columns.lat

    @property
    def lon(self) -> npt.NDArray[np.float64]:
        """Venue longitude by position."""
        return self._snapshot.columns.lon

    @property
    def delivery_radius_m(self) -> npt.NDArray[np.float64]:
        """Delivery radius in metres by position."""
        return self._snapshot.columns.delivery_radius_m

    @property
    def price_level(self) -> npt.NDArray[np.int8]:
        """Price level 1-4 by position."""
        return self._snapshot.columns.price_level

    @property
    def rating(self) -> npt.NDArray[np.float64]:
        """Average rating 0-5 by position."""
        return self._snapshot.columns.rating

    @property
    def rating_count(self) -> npt.NDArray[np.int64]:
        """Number of ratings by position."""
        return self._snapshot.columns.rating_count

    @property
    def prep_time_min(self) -> npt.NDArray[np.float64]:
        """Typical preparation time in minutes by position."""
        return self._snapshot.columns.prep_time_min

    @property
    def status(self) -> npt.NDArray[np.int8]:
        """Status codes (index into ``columns.STATUS_ORDER``) by position."""
        return self._snapshot.columns.status

    @property
    def onboarded_day(self) -> npt.NDArray[np.int32]:
        """Days since 1970-01-01 of onboarding, ``MISSING_DAY`` when unknown."""
        return self._snapshot.columns.onboarded_day

    @property
    def brand(self) -> Codes:
        """Brand codes by position (``-1``: no brand)."""
        return self._snapshot.columns.brand

    @property
    def city(self) -> Codes:
        """City codes by position."""
        return self._snapshot.columns.city

    @property
    def cuisines(self) -> MultiHot:
        """Cuisine membership matrix by position."""
        return self._snapshot.columns.cuisines
