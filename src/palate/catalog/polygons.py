"""Delivery polygons of many venues packed into flat edge arrays for vectorised tests.

The containment test repeats :func:`palate.domain.geo.point_in_polygon` operation for
operation (even-odd rule, same interpolation), so both agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from palate.catalog.geo_grid import Boxes
from palate.domain.geo import Location

FloatArray = npt.NDArray[np.float64]
# Crossings are interpolated; one ulp can push a crossing just past the vertex range.
POLYGON_MARGIN_DEG = 1e-7
# Far beyond any latitude: padding edges are entirely "above" every query point.
PADDING_LAT = 1e9


@dataclass(frozen=True, slots=True)
class PolygonSet:
    """Edges ``a → b`` of each polygon, one padded row per venue that has a polygon.

    ``row[venue]`` is the venue's row, ``-1`` without a polygon. Padding edges sit at a
    latitude no point has, so they never straddle a query and need no mask.

    >>> square = (Location(0, 0), Location(0, 1), Location(1, 1), Location(1, 0))
    >>> polygons = PolygonSet.build([None, square])
    >>> polygons.contains(np.array([1, 1]), 0.5, 0.5).tolist()
    [True, True]
    >>> polygons.contains(np.array([1]), 2.0, 2.0).tolist()
    [False]
    """

    row: npt.NDArray[np.intp]
    a_lat: FloatArray
    a_lon: FloatArray
    b_lat: FloatArray
    b_lon: FloatArray

    @classmethod
    def build(cls, polygons: Sequence[tuple[Location, ...] | None]) -> PolygonSet:
        """Pack polygons in venue order; ``None`` or empty means no polygon."""
        present = [p for p in polygons if p]
        row = np.full(len(polygons), -1, dtype=np.intp)
        row[[k for k, p in enumerate(polygons) if p]] = np.arange(len(present))
        sizes = np.array([len(p) for p in present], dtype=np.intp)
        width = int(sizes.max()) if len(present) else 1
        lat = np.full((len(present), width), PADDING_LAT)
        lon = np.zeros((len(present), width))
        for k, polygon in enumerate(present):
            lat[k, : len(polygon)] = [v.lat for v in polygon]
            lon[k, : len(polygon)] = [v.lon for v in polygon]
        # Each vertex's successor, the last one closing the ring back to the first.
        following = (np.arange(width) + 1) % np.maximum(sizes, 1)[:, np.newaxis]
        b_lat = np.where(lat == PADDING_LAT, PADDING_LAT, np.take_along_axis(lat, following, 1))
        b_lon = np.where(lat == PADDING_LAT, 0.0, np.take_along_axis(lon, following, 1))
        return cls(row, lat, lon, b_lat, b_lon)

    def vertex_boxes(self) -> tuple[npt.NDArray[np.intp], Boxes]:
        """The venues with a polygon and each polygon's vertex bounding box."""
        real = self.a_lat != PADDING_LAT
        lat, lon = self.a_lat, self.a_lon
        return np.flatnonzero(self.row >= 0), Boxes(
            lat_min=np.min(lat, axis=1, where=real, initial=np.inf),
            lat_max=np.max(lat, axis=1, where=real, initial=-np.inf),
            lon_min=np.min(lon, axis=1, where=real, initial=np.inf) - POLYGON_MARGIN_DEG,
            lon_max=np.max(lon, axis=1, where=real, initial=-np.inf) + POLYGON_MARGIN_DEG,
        )

    def contains(
        self, indices: npt.NDArray[np.integer], lat: float, lon: float
    ) -> npt.NDArray[np.bool_]:
        """Whether the point is inside the polygon of each venue in ``indices``."""
        rows = self.row.take(indices)
        a_lat = self.a_lat.take(rows, axis=0)
        b_lat = self.b_lat.take(rows, axis=0)
        # Interpolate only edges that straddle the point's latitude, as the scalar version does.
        edges = np.flatnonzero((a_lat > lat) != (b_lat > lat))
        a_lat, b_lat = a_lat.take(edges), b_lat.take(edges)
        a_lon = self.a_lon.take(rows, axis=0).take(edges)
        b_lon = self.b_lon.take(rows, axis=0).take(edges)
        cross = (b_lon - a_lon) * (lat - a_lat) / (b_lat - a_lat) + a_lon
        width = self.a_lat.shape[1]
        crossings = np.bincount(edges[lon < cross] // width, minlength=len(indices))
        return np.asarray(crossings % 2 == 1, dtype=np.bool_)
