"""Save and load a whole :class:`~palate.domain.Catalog` as a directory.

Layout (format version 1)::

    catalog.json       markets, cities, categories, brands, banners (small)
    venues.parquet     one row per venue (hours, polygon, dates, status included)
    items.parquet      one row per item (catalogs reach 100k+ items)
    customers.parquet  one row per customer

Each file is written to a temporary name and renamed, so a reader never opens half a file.
Aware datetimes keep their IANA zone (``...+03:00[Europe/Helsinki]``), so a loaded banner
equals the saved one field for field.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from palate.catalog.tables import (
    customer_table,
    customers_from_table,
    item_table,
    items_from_table,
    venue_table,
    venues_from_table,
)
from palate.domain.catalog import Banner, Brand, Catalog, Category
from palate.domain.geo import Location
from palate.domain.market import City, Market

FORMAT = "palate-catalog"
FORMAT_VERSION = 1
MANIFEST = "catalog.json"
VENUES = "venues.parquet"
ITEMS = "items.parquet"
CUSTOMERS = "customers.parquet"


def save_catalog(catalog: Catalog, directory: Path) -> None:
    """Write ``catalog`` into ``directory`` (created if missing, files replaced).

    >>> import tempfile
    >>> from palate.domain import Market
    >>> catalog = Catalog(markets={"fi": Market("fi", "FI", "EUR", "Europe/Helsinki")})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_catalog(catalog, Path(tmp))
    ...     load_catalog(Path(tmp)) == catalog
    True
    """
    directory.mkdir(parents=True, exist_ok=True)
    _write_parquet(venue_table(catalog.venues.values()), directory / VENUES)
    _write_parquet(item_table(catalog.items.values()), directory / ITEMS)
    _write_parquet(customer_table(catalog.customers.values()), directory / CUSTOMERS)
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "markets": [asdict(m) for m in catalog.markets.values()],
        "cities": [_city_spec(c) for c in catalog.cities.values()],
        "categories": [asdict(c) for c in catalog.categories.values()],
        "brands": [asdict(b) for b in catalog.brands.values()],
        "banners": [_banner_spec(b) for b in catalog.banners.values()],
    }
    _write_bytes(json.dumps(manifest, indent=1).encode(), directory / MANIFEST)


def load_catalog(directory: Path) -> Catalog:
    """Read a catalog written by :func:`save_catalog`."""
    manifest = json.loads((directory / MANIFEST).read_bytes())
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{directory / MANIFEST} is not a {FORMAT} v{FORMAT_VERSION} manifest: "
            f"{manifest.get('format')!r} v{manifest.get('version')!r}"
        )
    venues = venues_from_table(pq.read_table(directory / VENUES))
    items = items_from_table(pq.read_table(directory / ITEMS))
    customers = customers_from_table(pq.read_table(directory / CUSTOMERS))
    markets = [Market(**spec) for spec in manifest["markets"]]
    cities = [_city(spec) for spec in manifest["cities"]]
    categories = [Category(**spec) for spec in manifest["categories"]]
    brands = [Brand(**spec) for spec in manifest["brands"]]
    banners = [_banner(spec) for spec in manifest["banners"]]
    return Catalog(
        markets={m.id: m for m in markets},
        cities={c.id: c for c in cities},
        venues={v.id: v for v in venues},
        items={i.id: i for i in items},
        categories={c.id: c for c in categories},
        brands={b.id: b for b in brands},
        banners={b.id: b for b in banners},
        customers={c.id: c for c in customers},
    )


def _write_parquet(table: pa.Table, path: Path) -> None:
    temporary = path.with_name(path.name + ".tmp")
    pq.write_table(table, temporary, compression="zstd")
    temporary.replace(path)


def _write_bytes(data: bytes, path: Path) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def _city_spec(city: City) -> dict[str, Any]:
    return {
        "id": city.id,
        "name": city.name,
        "market_id": city.market_id,
        "center": [city.center.lat, city.center.lon],
        "timezone": city.timezone,
    }


def _city(spec: dict[str, Any]) -> City:
    lat, lon = spec["center"]
    return City(spec["id"], spec["name"], spec["market_id"], Location(lat, lon), spec["timezone"])


def _banner_spec(banner: Banner) -> dict[str, Any]:
    spec = asdict(banner)
    spec["markets"] = list(banner.markets)
    spec["valid_from"] = encode_datetime(banner.valid_from)
    spec["valid_to"] = encode_datetime(banner.valid_to)
    return spec


def _banner(spec: dict[str, Any]) -> Banner:
    return Banner(
        id=spec["id"],
        title=spec["title"],
        target_kind=spec["target_kind"],
        target_id=spec["target_id"],
        markets=tuple(spec["markets"]),
        valid_from=decode_datetime(spec["valid_from"]),
        valid_to=decode_datetime(spec["valid_to"]),
    )


def encode_datetime(moment: datetime | None) -> str | None:
    """ISO 8601, with ``[zone]`` appended when the timezone is an IANA zone.

    >>> encode_datetime(datetime(2024, 3, 1, 9, 30, tzinfo=ZoneInfo("Europe/Helsinki")))
    '2024-03-01T09:30:00+02:00[Europe/Helsinki]'
    """
    if moment is None:
        return None
    text = moment.isoformat()
    return f"{text}[{moment.tzinfo.key}]" if isinstance(moment.tzinfo, ZoneInfo) else text


def decode_datetime(text: str | None) -> datetime | None:
    """Inverse of :func:`encode_datetime`.

    >>> decode_datetime("2024-03-01T09:30:00+02:00[Europe/Helsinki]").tzinfo
    zoneinfo.ZoneInfo(key='Europe/Helsinki')
    """
    if text is None:
        return None
    if not text.endswith("]"):
        return datetime.fromisoformat(text)
    stamp, _, zone = text[:-1].partition("[")
    return datetime.fromisoformat(stamp).astimezone(ZoneInfo(zone))
