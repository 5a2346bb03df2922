"""A uniform lat/lon grid over venue delivery areas, and vectorised great-circle distance.

Every venue is listed in each cell that its delivery area's bounding box touches, so the
venues that can reach a point are a subset of the list of the point's cell: a query reads one
cell and checks exact distances on that short list only. Cells are keyed in a dict, so a
catalog spanning many countries costs memory only where venues are.

Limitation: boxes are not wrapped across the antimeridian (no delivery city straddles it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from palate.domain.geo import EARTH_RADIUS_M

METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180.0
# Widen disc boxes so float rounding in the exact check can never reach outside a box.
DISC_MARGIN_M = 1.0
# numpy's and libm's trigonometry may differ by an ulp; a micrometre keeps the edge inclusive.
EDGE_TOLERANCE_M = 1e-6

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]


def haversine_many(
    lat: FloatArray, lon: FloatArray, point_lat: float, point_lon: float
) -> FloatArray:
    """Great-circle metres from each ``(lat, lon)`` to the point, as ``haversine_m`` computes.

    >>> haversine_many(np.array([0.0]), np.array([0.0]), 0.0, 1.0).round().tolist()
    [111195.0]
    """
    lat1 = np.radians(lat)
    lat2 = math.radians(point_lat)
    dlat = lat2 - lat1
    dlon = np.radians(point_lon - lon)
    h = np.sin(dlat / 2) ** 2 + np.cos(lat1) * math.cos(lat2) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h)), dtype=np.float64)


def unit_vectors(lat: FloatArray, lon: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Points on the unit sphere, ``(x, y, z)``."""
    lat_rad, lon_rad = np.radians(lat), np.radians(lon)
    cos_lat = np.cos(lat_rad)
    return cos_lat * np.cos(lon_rad), cos_lat * np.sin(lon_rad), np.sin(lat_rad)


@dataclass(frozen=True, slots=True)
class Discs:
    """Delivery discs as unit vectors, so a distance test costs no trigonometry.

    For unit vectors the squared chord ``|v - p|²`` equals ``4 sin²(d / 2R)``, the haversine
    term, so comparing it with a per-venue bound is exactly the great-circle radius test.
    Differences of nearby vectors lose nothing to cancellation: the result agrees with
    ``haversine_m`` to well under a micrometre. Metres are computed for hits only.

    >>> discs = Discs.of(np.zeros(2), np.zeros(2), np.array([111_196.0, 111_195.0]))
    >>> chord2 = discs.chord2(np.array([0, 1]), 0.0, 1.0)
    >>> (chord2 <= discs.chord2_max).tolist(), discs.metres(chord2).round(1).tolist()
    ([True, False], [111195.1, 111195.1])
    """

    x: FloatArray
    y: FloatArray
    z: FloatArray
    chord2_max: FloatArray

    @classmethod
    def of(cls, lat: FloatArray, lon: FloatArray, radius_m: FloatArray) -> Discs:
        """Discs of ``radius_m``, edge included (up to :data:`EDGE_TOLERANCE_M`)."""
        half_angle = np.minimum((radius_m + EDGE_TOLERANCE_M) / (2 * EARTH_RADIUS_M), np.pi / 2)
        return cls(*unit_vectors(lat, lon), 4 * np.sin(half_angle) ** 2)

    def chord2(self, indices: IndexArray, lat: float, lon: float) -> FloatArray:
        """Squared chord length between each venue and the point on the unit sphere."""
        lat_rad, lon_rad = math.radians(lat), math.radians(lon)
        cos_lat = math.cos(lat_rad)
        # In place: the same operations in the same order as dx*dx + dy*dy + dz*dz, fewer arrays.
        dx = self.x.take(indices)
        dx -= cos_lat * math.cos(lon_rad)
        dx *= dx
        dy = self.y.take(indices)
        dy -= cos_lat * math.sin(lon_rad)
        dy *= dy
        dx += dy
        dz = self.z.take(indices)
        dz -= math.sin(lat_rad)
        dz *= dz
        dx += dz
        return dx

    @staticmethod
    def metres(chord2: FloatArray) -> FloatArray:
        """Great-circle metres for squared unit chords."""
        metres = np.sqrt(chord2)
        metres /= 2
        np.arcsin(metres, out=metres)
        metres *= 2 * EARTH_RADIUS_M
        return metres


@dataclass(frozen=True, slots=True)
class Boxes:
    """Axis-aligned lat/lon boxes, one per venue."""

    lat_min: FloatArray
    lat_max: FloatArray
    lon_min: FloatArray
    lon_max: FloatArray

    @classmethod
    def of_discs(cls, lat: FloatArray, lon: FloatArray, radius_m: FloatArray) -> Boxes:
        """Boxes around great-circle discs; the longitude half-width is exact for a sphere."""
        delta = (radius_m + DISC_MARGIN_M) / EARTH_RADIUS_M
        dlat = np.degrees(delta)
        sin_delta = np.sin(delta)
        cos_lat = np.cos(np.radians(lat))
        covers_pole = sin_delta >= cos_lat
        ratio = np.where(covers_pole, 1.0, sin_delta / np.where(covers_pole, 1.0, cos_lat))
        dlon = np.where(covers_pole, 360.0, np.degrees(np.arcsin(ratio)))
        return cls(
            lat_min=np.maximum(lat - dlat, -90.0),
            lat_max=np.minimum(lat + dlat, 90.0),
            lon_min=np.maximum(lon - dlon, -180.0),
            lon_max=np.minimum(lon + dlon, 180.0),
        )

    def override(self, rows: npt.NDArray[np.intp], other: Boxes) -> Boxes:
        """A copy in which ``rows`` take the boxes of ``other`` (aligned with ``rows``)."""
        out = Boxes(
            self.lat_min.copy(), self.lat_max.copy(), self.lon_min.copy(), self.lon_max.copy()
        )
        out.lat_min[rows], out.lat_max[rows] = other.lat_min, other.lat_max
        out.lon_min[rows], out.lon_max[rows] = other.lon_min, other.lon_max
        return out


@dataclass(frozen=True, slots=True)
class GeoGrid:
    """Cell → venue positions (ascending) in CSR form, cells found through a dict."""

    cell_lat: float
    cell_lon: float
    cells: dict[int, tuple[int, int]]
    members: IndexArray

    @classmethod
    def build(cls, boxes: Boxes, cell_m: float, reference_lat: float) -> GeoGrid:
        """Index ``boxes`` with cells of about ``cell_m`` square around ``reference_lat``."""
        cell_lat = cell_m / METRES_PER_DEGREE
        cell_lon = cell_lat / max(math.cos(math.radians(reference_lat)), 0.01)
        grid = cls(cell_lat, cell_lon, {}, np.empty(0, dtype=np.intp))
        i0, i1 = grid._row(boxes.lat_min), grid._row(boxes.lat_max)
        j0, j1 = grid._col(boxes.lon_min), grid._col(boxes.lon_max)
        n_rows, n_cols = i1 - i0 + 1, j1 - j0 + 1
        counts = n_rows * n_cols
        venue = np.repeat(np.arange(len(counts), dtype=np.intp), counts)
        within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
            np.cumsum(counts) - counts, counts
        )
        width = np.repeat(n_cols, counts)
        keys = grid._key(
            np.repeat(i0, counts) + within // width, np.repeat(j0, counts) + within % width
        )
        order = np.argsort(keys, kind="stable")
        keys, members = keys[order], venue[order]
        unique, first = np.unique(keys, return_index=True)
        ends = np.append(first[1:], len(keys))
        spans = zip(first.tolist(), ends.tolist(), strict=True)
        cells = dict(zip(unique.tolist(), spans, strict=True))
        return cls(cell_lat, cell_lon, cells, members)

    def lookup(self, lat: float, lon: float) -> IndexArray:
        """Positions of venues whose box touches the point's cell (a view; do not write)."""
        row = math.floor((lat + 90.0) / self.cell_lat)
        col = math.floor((lon + 180.0) / self.cell_lon)
        span = self.cells.get(row * self._n_cols + col)
        if span is None:
            return self.members[:0]
        return self.members[span[0] : span[1]]

    @property
    def _n_cols(self) -> int:
        return math.ceil(360.0 / self.cell_lon) + 2

    def _row(self, lat: FloatArray) -> npt.NDArray[np.int64]:
        return np.floor((lat + 90.0) / self.cell_lat).astype(np.int64)

    def _col(self, lon: FloatArray) -> npt.NDArray[np.int64]:
        return np.floor((lon + 180.0) / self.cell_lon).astype(np.int64)

    def _key(self, row: npt.NDArray[np.int64], col: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return row * self._n_cols + col
