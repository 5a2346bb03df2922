"""What the storefront templates show: venue cards with their "why this?" panel, and the map."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from palate.domain.catalog import Catalog
from palate.domain.market import City
from palate.pipeline import Candidates, PipelineResult
from palate.pipeline.candidates import IntArray
from palate.ranking.explain import Explanation, explain
from palate.ranking.heuristic import popularity_peak, weights_from
from palate.ranking.learned import served_model
from palate.serving.state import ServingState
from palate.settings import Settings

TOP_CONTRIBUTIONS = 6
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


def top_contributions(
    explanation: Explanation, count: int = TOP_CONTRIBUTIONS
) -> dict[str, object]:
    """What the "why this?" panel shows: scorer, base, the largest contributions by absolute
    value (signed) and the rules that fired.

    >>> top_contributions(Explanation("heuristic", 0.0, {"a": 0.1, "b": -0.5, "c": 0.0}), 2)
    {'scorer': 'heuristic', 'base': 0.0, 'contributions': [('b', -0.5), ('a', 0.1)], 'rules': []}
    """
    ranked = sorted(explanation.contributions.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
    return {
        "scorer": explanation.scorer,
        "base": round(explanation.base, 4),
        "contributions": [(name, round(value, 4)) for name, value in ranked[:count]],
        "rules": list(explanation.rules),
    }


def explained(
    settings: Settings, result: PipelineResult, rows: IntArray, ids: list[str]
) -> list[dict[str, object]]:
    """Explanations of ``rows`` of the result's candidates, through the API's own ``explain``
    (same model, weights and popularity peak as ``"explain": true``)."""
    explanations = explain(
        result.scorer,
        result.candidates.take(rows),
        ids,
        result.trace.stages,
        model=served_model() if result.scorer == "learned" else None,
        weights=weights_from(settings.heuristic),
        peak=popularity_peak(result.candidates) if result.scorer == "heuristic" else 0.0,
    )
    return [top_contributions(e) for e in explanations]


def venue_cards(
    state: ServingState, settings: Settings, result: PipelineResult, rows: IntArray
) -> list[dict[str, object]]:
    """The venues at ``rows`` of the ranking, with what a card shows and why they rank there."""
    shown = result.candidates.take(rows)
    ids = state.index.venue_ids[shown.positions].tolist()
    scores = shown.scores if shown.scores is not None else np.zeros(len(shown))
    facts = why_rows(shown)
    reasons = explained(settings, result, rows, ids)
    return [
        venue_card(state.catalog, venue_id, float(score), why, reason)
        for venue_id, score, why, reason in zip(ids, scores.tolist(), facts, reasons, strict=True)
    ]


def venue_card(
    catalog: Catalog,
    venue_id: str,
    score: float,
    why: dict[str, float],
    explanation: dict[str, object],
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
        "explanation": explanation,
    }


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
