"""Cold start: popularity priors by hierarchy (city → market → global) and a new-venue bonus.

A customer with no history is ranked by what their city orders. Cuisine shares are smoothed
level by level, each estimate shrunk toward its parent with ``k`` pseudo-orders::

    p_global(c) = (n_c + 1) / (N + C)                       Laplace, so no cuisine is 0
    p_market(c) = (n_mc + k·p_global(c)) / (N_m + k)
    p_city(c)   = (n_cc + k·p_market(c)) / (N_c + k)

so a city with few orders looks like its market and a city with none is its market. A venue's
share of its city's orders is shrunk toward its cuisine's city share split evenly among the
city's venues of that cuisine, ``(n_v + k·p_city(c_v) / m_c) / (N_c + k)``, so a venue with
no orders yet starts where a typical venue of its cuisine stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from palate.pipeline.candidates import FloatArray, IntArray
from palate.training.artifacts import (
    Ids,
    StrArray,
    as_id_array,
    event_frame,
    load_arrays,
    positions_in,
    save_arrays,
)

_NAME = "priors"
_US_PER_DAY = 86_400_000_000


def _vocabulary(values: Any) -> StrArray:
    return np.unique(as_id_array(list(values)))


def _bincount(rows: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Sums of ``weights`` per row, rows below 0 left out."""
    keep = rows >= 0
    return np.bincount(rows[keep], weights=weights[keep], minlength=size).astype(np.float64)


def _shrink(counts: FloatArray, parent: FloatArray, k: float) -> FloatArray:
    """Row-wise ``(n + k·parent) / (N + k)`` for count rows and their parents' shares."""
    totals = counts.sum(axis=-1, keepdims=True)
    shares: FloatArray = (counts + k * parent) / (totals + k)
    return shares


def order_weights(
    events: pa.Table | pl.DataFrame, half_life_days: float | None, as_of: datetime | None
) -> pl.DataFrame:
    """``(venue_id, weight)`` per venue: its orders, halved per ``half_life_days`` of age."""
    orders = event_frame(events, ["venue_id", "ts"], {"order"}).drop_nulls("venue_id")
    if half_life_days is None or orders.height == 0:
        weight = pl.lit(1.0)
    else:
        newest = orders["ts"].dt.epoch("us").max() if as_of is None else as_of.timestamp() * 1e6
        age = (pl.lit(newest) - pl.col("ts").dt.epoch("us")) / _US_PER_DAY
        weight = 0.5 ** (age.clip(lower_bound=0.0) / half_life_days)
    weighted = orders.select("venue_id", weight.cast(pl.Float64).alias("weight"))
    return weighted.group_by("venue_id").agg(pl.col("weight").sum())


def _cuisine_shares(
    n_city: FloatArray, city_market: IntArray, n_markets: int, k: float
) -> tuple[FloatArray, FloatArray]:
    """Smoothed (cities × cuisines) and global cuisine shares from city counts; a city of no
    known market is shrunk straight toward the global shares.
    """
    in_market = city_market >= 0
    n_market = np.zeros((n_markets, n_city.shape[1]))
    np.add.at(n_market, city_market[in_market], n_city[in_market])
    p_global = (n_city.sum(axis=0) + 1.0) / (n_city.sum() + n_city.shape[1])
    p_market = _shrink(n_market, p_global[None, :], k)
    parent = np.where(in_market[:, None], p_market[np.maximum(city_market, 0)], p_global)
    return _shrink(n_city, parent, k), p_global


def _take(values: FloatArray, rows: IntArray, default: float) -> FloatArray:
    """``values[rows]`` with ``default`` where a row is ``-1``."""
    out = np.full(len(rows), default, dtype=np.float64)
    known = rows >= 0
    out[known] = values[rows[known]]
    return out


@dataclass(frozen=True, slots=True)
class _Hierarchy:
    """Sorted venue, city, market and cuisine ids, and each venue's and city's parent rows."""

    venues: StrArray
    cities: StrArray
    markets: StrArray
    cuisines: StrArray
    venue_city: IntArray
    venue_cuisine: IntArray
    city_market: IntArray

    @classmethod
    def of(
        cls,
        venue_city: Mapping[str, str],
        city_market: Mapping[str, str],
        venue_cuisine: Mapping[str, str],
    ) -> _Hierarchy:
        """Index the catalogue's mappings; a venue without a cuisine gets the cuisine ``""``."""
        venues = _vocabulary(venue_city)
        cities = _vocabulary(set(city_market) | set(venue_city.values()))
        markets = _vocabulary(set(city_market.values()))
        cuisine_of = [venue_cuisine.get(v, "") for v in venues.tolist()]
        cuisines = _vocabulary(set(cuisine_of))
        return cls(
            venues, cities, markets, cuisines,
            positions_in(cities, [venue_city[v] for v in venues.tolist()]),
            positions_in(cuisines, cuisine_of),
            positions_in(markets, [city_market.get(c, "") for c in cities.tolist()]),
        )  # fmt: skip


@dataclass(frozen=True, slots=True, eq=False)
class HierarchicalPopularity:
    """Smoothed venue and cuisine order shares per city; arrays follow the sorted id arrays."""

    venue_ids: StrArray
    venue_city: IntArray
    venue_cuisine: IntArray
    venue_share: FloatArray
    city_ids: StrArray
    city_market: IntArray
    cuisine_ids: StrArray
    city_cuisine_share: FloatArray  # cities × cuisines
    global_cuisine_share: FloatArray
    city_new_venue: FloatArray  # the share of a venue unknown at fit, per city
    shrinkage: float

    @classmethod
    def fit(
        cls,
        events: pa.Table | pl.DataFrame,
        venue_city: Mapping[str, str],
        city_market: Mapping[str, str],
        *,
        venue_cuisine: Mapping[str, str] | None = None,
        shrinkage: float = 20.0,
        half_life_days: float | None = None,
        as_of: datetime | None = None,
    ) -> HierarchicalPopularity:
        """Count ``events``' orders per venue and smooth them up the hierarchy. Every venue of
        ``venue_city`` gets a prior, ordered or not; orders at venues missing from it are left
        out (their city is unknown). ``venue_cuisine`` is each venue's main cuisine.
        """
        ids = _Hierarchy.of(venue_city, city_market, venue_cuisine or {})
        weights = order_weights(events, half_life_days, as_of)
        n_venue = _bincount(
            positions_in(ids.venues, weights["venue_id"].to_numpy()),
            weights["weight"].to_numpy(),
            len(ids.venues),
        )
        shape = (len(ids.cities), len(ids.cuisines))
        cell = ids.venue_city * shape[1] + ids.venue_cuisine
        n_city = _bincount(cell, n_venue, shape[0] * shape[1]).reshape(shape)
        p_city, p_global = _cuisine_shares(n_city, ids.city_market, len(ids.markets), shrinkage)
        # A venue's parent is its cuisine's city share split among the city's venues of it.
        m_city = _bincount(cell, np.ones(len(cell)), shape[0] * shape[1]).reshape(shape)
        base = p_city.ravel()[cell] / np.maximum(m_city.ravel()[cell], 1.0)
        city_orders = n_city.sum(axis=1)
        share = (n_venue + shrinkage * base) / (city_orders[ids.venue_city] + shrinkage)
        new_venue = shrinkage / (m_city.sum(axis=1) + 1.0) / (city_orders + shrinkage)
        return cls(
            ids.venues, ids.venue_city, ids.venue_cuisine, share, ids.cities, ids.city_market,
            ids.cuisines, p_city, p_global, new_venue, float(shrinkage),
        )  # fmt: skip

    def venue_prior(self, venue_ids: Ids, city_id: str) -> FloatArray:
        """Each venue's smoothed share of its city's orders; a venue unknown at fit gets what a
        venue with no orders and an unknown cuisine would get in ``city_id`` (in an unknown
        city, one over the number of known venues).
        """
        rows = positions_in(self.venue_ids, venue_ids)
        city = int(positions_in(self.city_ids, [city_id])[0])
        fallback = self.city_new_venue[city] if city >= 0 else 1.0 / max(len(self.venue_ids), 1)
        return _take(self.venue_share, rows, float(fallback))

    def cuisine_prior(self, cuisines: Ids, city_id: str) -> FloatArray:
        """Each cuisine's smoothed share of ``city_id``'s orders (the global share for a city
        unknown at fit, 0 for a cuisine no venue had at fit).
        """
        rows = positions_in(self.cuisine_ids, cuisines)
        city = int(positions_in(self.city_ids, [city_id])[0])
        table = self.city_cuisine_share[city] if city >= 0 else self.global_cuisine_share
        return _take(table, rows, 0.0)

    def save(self, directory: Path) -> None:
        """Write ``priors.npz`` and ``priors.json`` into ``directory``."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "shrinkage"}
        save_arrays(directory, _NAME, arrays, {"shrinkage": self.shrinkage})

    @classmethod
    def load(cls, directory: Path) -> HierarchicalPopularity:
        """Read what :meth:`save` wrote into ``directory``."""
        arrays, metadata = load_arrays(directory, _NAME)
        return cls(**arrays, shrinkage=float(metadata["shrinkage"]))


def exploration_bonus(
    onboarded_days_ago: FloatArray,
    impressions: FloatArray,
    *,
    horizon_days: float = 28.0,
    strength: float = 0.5,
) -> FloatArray:
    """A UCB-like score bonus for new venues, to add to their ranking score.

    ``strength · (1 − age / horizon_days)⁺ / √(1 + impressions)``: the ``1/√n`` of an upper
    confidence bound shrinks as the venue is shown (its performance becomes known), and the
    linear fade ends the help after ``horizon_days`` however little it was shown. An unknown
    age (NaN) gets no bonus; a negative age counts as brand new.

    >>> exploration_bonus(np.array([0.0, 0.0, 14.0, 40.0]), np.array([0, 99, 0, 0])).tolist()
    [0.5, 0.05, 0.25, 0.0]
    """
    if horizon_days <= 0 or strength < 0:
        raise ValueError("horizon_days must be positive and strength non-negative")
    age = np.asarray(onboarded_days_ago, dtype=np.float64)
    shown = np.maximum(np.asarray(impressions, dtype=np.float64), 0.0)
    freshness = np.clip(1.0 - np.maximum(age, 0.0) / horizon_days, 0.0, 1.0)
    bonus: FloatArray = strength * np.nan_to_num(freshness, nan=0.0) / np.sqrt(1.0 + shown)
    return bonus
