"""What the storefront templates show: venue cards, "why this?" facts, "Order again", the map."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from palate.domain.catalog import Catalog
from palate.domain.market import City
from palate.pipeline import Candidates, PipelineResult
from palate.serving.state import ServingState

ORDER_AGAIN_MIN = 0.5  # decayed orders: about one recent order, so a single old one fades out
ORDER_AGAIN_LIMIT = 8
MAP_WIDTH = 1000.0
MAP_HEIGHT = 700.0
MAP_MARGIN = 20.0


def why_rows(candidates: Candidates) -> list[dict[str, float]]:
    """Per candidate, the features the ranking saw (rounded), for the "why this?" panel."""
    count = len(candidates)
    columns = {
        name: np.round(np.asarray(column, dtype=np.float64), 4).tolist()
        for name, column in sorted(candidates.features.items())
        if len(column) == count and np.issubdtype(np.asarray(column).dtype, np.number)
    }
    return [{name: values[row] for name, values in columns.items()} for row in range(count)]


def venue_cards(state: ServingState, result: PipelineResult, limit: int) -> list[dict[str, object]]:
    """The ranked venues with what a card shows and the facts behind their rank."""
    shown = result.candidates.take(slice(0, limit))
    ids = state.index.venue_ids[shown.positions].tolist()
    scores = shown.scores if shown.scores is not None else np.zeros(len(shown))
    facts = why_rows(shown)
    return [
        venue_card(state.catalog, venue_id, float(score), why)
        for venue_id, score, why in zip(ids, scores.tolist(), facts, strict=True)
    ]


def venue_card(
    catalog: Catalog, venue_id: str, score: float, why: dict[str, float]
) -> dict[str, object]:
    """One venue as the templates show it."""
    venue = catalog.venues[venue_id]
    return {
        "id": venue_id,
        "name": venue.name,
        "cuisines": ", ".join(venue.cuisines[:3]),
        "rating": round(venue.rating, 1),
        "price": "€" * max(1, venue.price_level),
        "distance_km": None if "distance_m" not in why else round(why["distance_m"] / 1000, 1),
        "prep_min": round(venue.prep_time_min),
        "score": round(score, 4),
        "sponsored": why.get("sponsored", 0.0) > 0,
        "why": why,
    }


def order_again(
    state: ServingState, user_id: str, now: datetime, limit: int = ORDER_AGAIN_LIMIT
) -> list[dict[str, object]]:
    """Venues this customer keeps ordering from (decayed orders above the threshold), most first."""
    ids = state.index.venue_ids
    if not len(ids):
        return []
    columns = state.features.venue_features(user_id, ids.tolist(), now)
    orders = np.asarray(columns.get("cv_orders", np.zeros(len(ids))), dtype=np.float64)
    rows = np.flatnonzero(orders > ORDER_AGAIN_MIN)
    rows = rows[np.argsort(-orders[rows], kind="stable")][:limit]
    cards = []
    for row in rows.tolist():
        why = {name: round(float(column[row]), 4) for name, column in sorted(columns.items())}
        cards.append(venue_card(state.catalog, str(ids[row]), 0.0, why))
    return cards


@dataclass(frozen=True, slots=True)
class CityMap:
    """An equirectangular projection of one city's venues onto an SVG canvas."""

    city_id: str
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float
    dots: tuple[tuple[float, float], ...]

    @property
    def scale(self) -> float:
        """Pixels per degree of longitude; latitude is stretched by 1/cos(lat) to keep shape."""
        x_span = max(self.max_lon - self.min_lon, 1e-6) * self.lon_factor
        y_span = max(self.max_lat - self.min_lat, 1e-6)
        return min((MAP_WIDTH - 2 * MAP_MARGIN) / x_span, (MAP_HEIGHT - 2 * MAP_MARGIN) / y_span)

    @property
    def lon_factor(self) -> float:
        """How much shorter a degree of longitude is than one of latitude here."""
        return math.cos(math.radians((self.min_lat + self.max_lat) / 2))

    @property
    def origin(self) -> tuple[float, float]:
        """Canvas x, y of the north-west corner, chosen so that the city sits centred."""
        width = (self.max_lon - self.min_lon) * self.lon_factor * self.scale
        height = (self.max_lat - self.min_lat) * self.scale
        return (MAP_WIDTH - width) / 2, (MAP_HEIGHT - height) / 2

    def project(self, lat: float, lon: float) -> tuple[float, float]:
        """Canvas x, y of a point (north up); the browser inverts this for map clicks."""
        x0, y0 = self.origin
        x = x0 + (lon - self.min_lon) * self.lon_factor * self.scale
        y = y0 + (self.max_lat - lat) * self.scale
        return round(x, 1), round(y, 1)


def city_map(catalog: Catalog, city: City) -> CityMap:
    """The venues of ``city`` as map dots, bounded by their extent (and the centre)."""
    points = [v.location for v in catalog.venues.values() if v.city_id == city.id]
    lats = [p.lat for p in points] + [city.center.lat]
    lons = [p.lon for p in points] + [city.center.lon]
    pad_lat = (max(lats) - min(lats)) * 0.05 or 0.01
    pad_lon = (max(lons) - min(lons)) * 0.05 or 0.01
    bounds = CityMap(
        city.id,
        min(lats) - pad_lat,
        max(lats) + pad_lat,
        min(lons) - pad_lon,
        max(lons) + pad_lon,
        (),
    )
    dots = tuple(bounds.project(p.lat, p.lon) for p in points)
    return CityMap(city.id, bounds.min_lat, bounds.max_lat, bounds.min_lon, bounds.max_lon, dots)
