"""The pure-Python geohash codec against published points and its own inverse."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from palate.datasets.geohash import decode, decode_bounds, encode


@pytest.mark.parametrize(
    ("code", "lat", "lon"),
    [
        ("u4pruydqqvj", 57.64911, 10.40744),  # the example of the geohash Wikipedia article
        ("ezs42", 42.605, -5.603),  # likewise: León, Spain
        ("w21z6", 1.29638671875, 103.82080078125),  # a DHRD Singapore cell
    ],
)
def test_decode_known_points(code: str, lat: float, lon: float) -> None:
    got_lat, got_lon = decode(code)
    lat_min, lat_max, lon_min, lon_max = decode_bounds(code)
    tolerance = max(lat_max - lat_min, lon_max - lon_min)
    assert got_lat == pytest.approx(lat, abs=tolerance)
    assert got_lon == pytest.approx(lon, abs=tolerance)
    assert lat_min <= lat <= lat_max
    assert lon_min <= lon <= lon_max


def test_encode_then_decode_returns_a_cell_holding_the_point() -> None:
    rng = random.Random(7)
    for _ in range(500):
        lat, lon = rng.uniform(-90, 90), rng.uniform(-180, 180)
        precision = rng.randint(1, 12)
        code = encode(lat, lon, precision)
        lat_min, lat_max, lon_min, lon_max = decode_bounds(code)
        assert len(code) == precision
        assert lat_min <= lat <= lat_max
        assert lon_min <= lon <= lon_max


def test_cells_shrink_by_32_per_character() -> None:
    coarse = decode_bounds("w21z")
    fine = decode_bounds("w21z6")
    coarse_area = (coarse[1] - coarse[0]) * (coarse[3] - coarse[2])
    fine_area = (fine[1] - fine[0]) * (fine[3] - fine[2])
    assert coarse_area / fine_area == pytest.approx(32)


@pytest.mark.parametrize("bad", ["", "a", "w21zi", "u4pr!"])
def test_invalid_geohashes_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="geohash"):
        decode(bad)


def test_decoding_agrees_with_the_coordinates_published_with_dhrd_vendors(dhrd_dir: Path) -> None:
    vendors = pl.read_csv(dhrd_dir / "vendors_sample.csv")
    for code, lat, lon in vendors.select("geohash", "latitude", "longitude").rows():
        assert decode(code) == pytest.approx((lat, lon), abs=1e-9)
