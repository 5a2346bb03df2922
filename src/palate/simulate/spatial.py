"""Vectorised geography: the same great-circle distance as the domain, on arrays."""

from __future__ import annotations

import numpy as np

from palate.domain.geo import EARTH_RADIUS_M

KM_PER_DEGREE_LAT = np.pi * EARTH_RADIUS_M / 180_000.0


def haversine_m(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in metres between broadcastable arrays of points.

    >>> float(np.round(haversine_m(np.array(0.0), np.array(0.0), np.array(0.0), np.array(1.0))))
    111195.0
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat = p2 - p1
    dlon = np.radians(lon2 - lon1)
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0))))


def scatter_km(
    rng: np.random.Generator,
    lat: np.ndarray,
    lon: np.ndarray,
    sigma_km: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Points drawn from a Gaussian of ``sigma_km`` around each (lat, lon) centre."""
    north = rng.normal(0.0, 1.0, lat.shape) * sigma_km
    east = rng.normal(0.0, 1.0, lat.shape) * sigma_km
    new_lat = lat + north / KM_PER_DEGREE_LAT
    new_lon = lon + east / (KM_PER_DEGREE_LAT * np.cos(np.radians(lat)))
    return new_lat, new_lon
