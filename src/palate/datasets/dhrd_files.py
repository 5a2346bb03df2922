"""Finding and normalising Delivery Hero Recommendation Dataset (DHRD) files.

Two layouts are accepted. The original release has ``orders_{cc}_{train,test}.txt``,
``vendors_{cc}.txt`` and ``products_{cc}.txt`` (CSV; ``cc`` one of sg, se, tw; a pandas index
column may come first), with ``order_day`` like ``"61 days"``. Third-party samples such as
``orders_sample.csv`` may join vendor and product columns into the orders, give ``order_day``
as a bare number and add decoded ``latitude``/``longitude`` to vendors. Whatever the layout, the
readers here return the same columns, with null where a layout lacks a field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from palate.datasets.geohash import decode
from palate.datasets.tables import read_csv_dump

COUNTRIES = ("sg", "se", "tw")
_ORIGINAL_NAME = re.compile(
    r"^(orders|vendors|products)_(sg|se|tw)(?:_(?:train|test))?\.(?:txt|csv)$"
)
_SUFFIXES = (".txt", ".csv")
_ORDER_COLUMNS = (
    "order_id",
    "customer_id",
    "vendor_id",
    "product_id",
    "geohash",
    "order_time",
    "order_day",
    "day_of_week",
    "name",
    "unit_price",
    "primary_cuisine",
)
_VENDOR_COLUMNS = (
    "vendor_id",
    "chain_id",
    "geohash",
    "primary_cuisine",
    "latitude",
    "longitude",
)
_PRODUCT_COLUMNS = (
    "vendor_id",
    "product_id",
    "name",
    "unit_price",
)


@dataclass(frozen=True, slots=True)
class DhrdFiles:
    """The files of one country; ``country`` is None when the names do not say."""

    country: str | None
    orders: tuple[Path, ...]
    vendors: tuple[Path, ...]
    products: tuple[Path, ...]


def find_files(source: Path, country: str | None = None) -> DhrdFiles:
    """The DHRD files in ``source``: one country of the original layout, else any sample."""
    originals: dict[str, dict[str, list[Path]]] = {}
    for path in sorted(source.iterdir()):
        match = _ORIGINAL_NAME.match(path.name)
        if match:
            kind, code = match.group(1), match.group(2)
            originals.setdefault(code, {}).setdefault(kind, []).append(path)
    if country is not None and country not in originals and originals:
        raise ValueError(f"no DHRD files for country {country!r} in {source}")
    if country is None and len(originals) > 1:
        raise ValueError(f"{source} holds several DHRD countries {sorted(originals)}; pass one")
    if originals:
        code = country or next(iter(originals))
        kinds = originals[code]
        return DhrdFiles(
            code, *(tuple(kinds.get(k, ())) for k in ("orders", "vendors", "products"))
        )
    return DhrdFiles(country, *(_any_layout(source, k) for k in ("orders", "vendors", "products")))


def _any_layout(source: Path, kind: str) -> tuple[Path, ...]:
    return tuple(p for p in sorted(source.glob(f"{kind}*")) if p.suffix in _SUFFIXES)


def _read(paths: tuple[Path, ...], columns: tuple[str, ...]) -> pl.DataFrame:
    frames = [read_csv_dump(path) for path in paths]
    frame = pl.concat(frames, how="diagonal") if frames else pl.DataFrame()
    present = [pl.col(c) for c in columns if c in frame.columns]
    # Every column is text (see read_csv_dump); a field the layout lacks is all null.
    absent = [pl.lit(None, dtype=pl.String).alias(c) for c in columns if c not in frame.columns]
    return frame.select(*present, *absent).select(list(columns))


def read_orders(paths: tuple[Path, ...]) -> pl.DataFrame:
    """One row per ordered product, in file order, with ``order_day`` as an integer."""
    if not paths:
        raise ValueError("no DHRD orders file found")
    return _read(paths, _ORDER_COLUMNS).with_columns(
        order_day=pl.col("order_day").str.extract(r"(\d+)").cast(pl.Int64),
        day_of_week=pl.col("day_of_week").cast(pl.Int64),
        unit_price=pl.col("unit_price").cast(pl.Float64),
    )


def read_vendors(paths: tuple[Path, ...]) -> pl.DataFrame:
    """Vendors with ``lat``/``lon`` from their coordinates, else from their geohash."""
    vendors = with_geohash_centres(_read(paths, _VENDOR_COLUMNS), "geohash")
    return vendors.select(
        "vendor_id",
        "chain_id",
        "primary_cuisine",
        lat=pl.coalesce(pl.col("latitude").cast(pl.Float64), "lat"),
        lon=pl.coalesce(pl.col("longitude").cast(pl.Float64), "lon"),
    ).unique("vendor_id", keep="first", maintain_order=True)


def read_products(paths: tuple[Path, ...]) -> pl.DataFrame:
    """Products keyed by (vendor_id, product_id) with a float ``unit_price``."""
    products = _read(paths, _PRODUCT_COLUMNS).with_columns(pl.col("unit_price").cast(pl.Float64))
    return products.unique(["vendor_id", "product_id"], keep="first", maintain_order=True)


def with_geohash_centres(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``frame`` plus ``lat``/``lon``: the centre of each row's geohash cell (null if none).

    Only distinct geohashes are decoded, so a city's millions of rows cost a few thousand calls.
    """
    distinct = frame.get_column(column).drop_nulls().unique().sort().to_list()
    centres = [decode(code) for code in distinct]
    lookup = pl.DataFrame(
        {
            column: distinct,
            "lat": [lat for lat, _ in centres],
            "lon": [lon for _, lon in centres],
        },
        schema={column: pl.String, "lat": pl.Float64, "lon": pl.Float64},
    )
    return frame.join(lookup, on=column, how="left", maintain_order="left")
