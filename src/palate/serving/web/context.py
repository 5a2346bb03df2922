"""Who is shopping, where and when: the storefront's context, carried in the page's query string."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request

from palate.domain.catalog import Catalog
from palate.domain.geo import Location
from palate.domain.market import City
from palate.events.log import EventLog
from palate.serving.state import EVENTS_DIR
from palate.settings import Settings

DEFAULT_HOUR = 19
CUSTOMER_CHOICES = 24


@dataclass(frozen=True, slots=True)
class ShopContext:
    """The simulated customer, delivery location and local time the pages are rendered for."""

    user_id: str
    location: Location
    hour: int
    city: City
    when: datetime

    def query(self, **extra: str) -> str:
        """The query string that reproduces this context on another page.

        Coordinates are rounded to about a metre so links stay short.
        """
        params = {
            "user": self.user_id,
            "lat": f"{self.location.lat:.5f}",
            "lon": f"{self.location.lon:.5f}",
            "hour": str(self.hour),
            **extra,
        }
        return urlencode(params)


def demo_day(request: Request) -> date:
    """The day after the event log's last event: history is recent, so habits still show.

    Computed once per app; a log without events means today.
    """
    cached: date | None = getattr(request.app.state, "ui_demo_day", None)
    if cached is None:
        settings: Settings = request.app.state.settings
        span = EventLog(settings.data.dir / EVENTS_DIR).time_range()
        cached = datetime.now(UTC).date() if span is None else span[1].date() + timedelta(days=1)
        request.app.state.ui_demo_day = cached
    return cached


def nearest_city(catalog: Catalog, location: Location) -> City:
    """The catalog city whose centre is closest to ``location``."""
    return min(
        catalog.cities.values(),
        key=lambda c: math.hypot(c.center.lat - location.lat, c.center.lon - location.lon),
    )


def customer_choices(catalog: Catalog) -> list[str]:
    """A short, stable list of customer ids for the picker (any id may be typed instead)."""
    return sorted(catalog.customers)[:CUSTOMER_CHOICES]


def parse_float(raw: str | None) -> float | None:
    """A finite float from a query parameter, else None.

    >>> parse_float("60.17"), parse_float("nan"), parse_float("x"), parse_float(None)
    (60.17, None, None, None)
    """
    try:
        value = float(raw) if raw else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_hour(raw: str | None) -> int:
    """An hour 0–23 from a query parameter; the evening rush when absent or invalid.

    >>> parse_hour("8"), parse_hour("24"), parse_hour(None)
    (8, 19, 19)
    """
    return int(raw) if raw and raw.isdigit() and int(raw) < 24 else DEFAULT_HOUR


def shop_context(request: Request, catalog: Catalog) -> ShopContext:
    """The context named by ``?user=&lat=&lon=&hour=``: defaults are the first customer at home."""
    params = request.query_params
    user_id = (params.get("user") or "").strip()[:128] or (customer_choices(catalog) or ["demo"])[0]
    lat, lon = parse_float(params.get("lat")), parse_float(params.get("lon"))
    if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
        location = Location(lat, lon)
    else:
        location = default_location(catalog, user_id)
    city = nearest_city(catalog, location)
    hour = parse_hour(params.get("hour"))
    zone = ZoneInfo(city.timezone or catalog.markets[city.market_id].timezone)
    when = datetime.combine(demo_day(request), time(hour), tzinfo=zone)
    return ShopContext(user_id, location, hour, city, when)


def default_location(catalog: Catalog, user_id: str) -> Location:
    """The customer's home when the catalog knows it, else the first city's centre."""
    customer = catalog.customers.get(user_id)
    if customer is not None and customer.home is not None:
        return customer.home
    return next(iter(catalog.cities.values())).center
