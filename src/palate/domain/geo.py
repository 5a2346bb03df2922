"""Geographic primitives: a point, great-circle distance, point-in-polygon."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class Location:
    """A WGS84 point.

    >>> Location(60.17, 24.94).lat
    60.17
    """

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat <= 90.0:
            raise ValueError(f"lat must be within [-90, 90], got {self.lat}")
        if not -180.0 <= self.lon <= 180.0:
            raise ValueError(f"lon must be within [-180, 180], got {self.lon}")


def haversine_m(a: Location, b: Location) -> float:
    """Great-circle distance in metres.

    >>> round(haversine_m(Location(0.0, 0.0), Location(0.0, 1.0)))
    111195
    """
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def point_in_polygon(point: Location, polygon: tuple[Location, ...]) -> bool:
    """Even-odd rule on lat/lon; adequate for city-sized delivery areas.

    >>> square = (Location(0, 0), Location(0, 1), Location(1, 1), Location(1, 0))
    >>> point_in_polygon(Location(0.5, 0.5), square), point_in_polygon(Location(2, 2), square)
    (True, False)
    """
    inside = False
    n = len(polygon)
    for i in range(n):
        a, b = polygon[i], polygon[(i + 1) % n]
        if (a.lat > point.lat) != (b.lat > point.lat):
            cross = (b.lon - a.lon) * (point.lat - a.lat) / (b.lat - a.lat) + a.lon
            if point.lon < cross:
                inside = not inside
    return inside
