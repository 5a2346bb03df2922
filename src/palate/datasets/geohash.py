"""Geohash decoding and encoding (the public-domain base-32 interleaved-bit scheme).

DHRD stores vendor and customer locations as geohashes; decoding needs no dependency.
"""

from __future__ import annotations

BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_VALUE = {char: index for index, char in enumerate(BASE32)}
_BITS = (16, 8, 4, 2, 1)


def decode_bounds(geohash: str) -> tuple[float, float, float, float]:
    """The cell as ``(lat_min, lat_max, lon_min, lon_max)``.

    >>> decode_bounds("s")
    (0.0, 45.0, 0.0, 45.0)
    """
    if not geohash:
        raise ValueError("empty geohash")
    lat = [-90.0, 90.0]
    lon = [-180.0, 180.0]
    is_lon = True  # bits alternate, longitude first
    for char in geohash.lower():
        value = _VALUE.get(char)
        if value is None:
            raise ValueError(f"not a geohash character: {char!r} in {geohash!r}")
        for bit in _BITS:
            interval = lon if is_lon else lat
            middle = (interval[0] + interval[1]) / 2
            interval[0 if value & bit else 1] = middle
            is_lon = not is_lon
    return lat[0], lat[1], lon[0], lon[1]


def decode(geohash: str) -> tuple[float, float]:
    """The cell centre as ``(lat, lon)``.

    >>> lat, lon = decode("u4pruydqqvj")
    >>> round(lat, 5), round(lon, 5)
    (57.64911, 10.40744)
    """
    lat_min, lat_max, lon_min, lon_max = decode_bounds(geohash)
    return (lat_min + lat_max) / 2, (lon_min + lon_max) / 2


def encode(lat: float, lon: float, precision: int = 9) -> str:
    """The geohash of ``precision`` characters whose cell contains the point.

    >>> encode(57.64911, 10.40744, 11)
    'u4pruydqqvj'
    """
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"not a WGS84 point: ({lat}, {lon})")
    lat_range = [-90.0, 90.0]
    lon_range = [-180.0, 180.0]
    chars = []
    is_lon = True
    for _ in range(precision):
        value = 0
        for bit in _BITS:
            interval, coordinate = (lon_range, lon) if is_lon else (lat_range, lat)
            middle = (interval[0] + interval[1]) / 2
            if coordinate >= middle:
                value |= bit
                interval[0] = middle
            else:
                interval[1] = middle
            is_lon = not is_lon
        chars.append(BASE32[value])
    return "".join(chars)
