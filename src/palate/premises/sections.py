"""Discovery sections: "Order again", "For you", "New", "Popular near you", cuisine carousels.

Every section is cut from ONE Discovery ranking (its candidates, features and order). Sections
are filled in a fixed priority order so that a venue capped at ``max_per_venue`` appearances
lands in the most specific section first; the order in which they are *shown* is the bandit's
(see :func:`order_sections`).

"For you" is retrieval by embedding: among the served venues the customer has not ordered
from, the nearest neighbours of their customer vector in the serving model's venue factors.
A customer without a vector (or a server without factors) gets them in ranking order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from palate.catalog.columns import MISSING_DAY
from palate.catalog.index import VenueIndex
from palate.experiments.arms import BanditConfig, arm_scores
from palate.features.entity_engagement import SECTION, Evidence, arm
from palate.pipeline.candidates import BoolArray, Candidates, FloatArray, IntArray
from palate.ranking.embedding_features import Factorisation, nearest, rows_of

ORDER_AGAIN, FOR_YOU, NEW, POPULAR = "order_again", "for_you", "new", "popular"
TITLES = {
    ORDER_AGAIN: "Order again",
    FOR_YOU: "For you",
    NEW: "New",
    POPULAR: "Popular near you",
}
CUISINE_PREFIX = "cuisine:"


@dataclass(frozen=True, slots=True)
class SectionConfig:
    """How sections are cut from the ranking."""

    max_per_venue: int = 1
    venues_per_section: int = 10
    new_days: int = 30
    cuisine_carousels: int = 3


@dataclass(frozen=True, slots=True)
class Section:
    """A named carousel: ``rows`` index the Discovery candidates, best first."""

    name: str
    title: str
    rows: IntArray


def _column(candidates: Candidates, name: str) -> FloatArray:
    """A hydrated column, zeros when hydration failed open."""
    return candidates.features.get(name, np.zeros(len(candidates)))


def _by(key: FloatArray, mask: BoolArray, tiebreak: FloatArray | None = None) -> IntArray:
    """Rows of ``mask`` by ``key`` descending, then ``tiebreak`` descending, then rank."""
    rows = np.flatnonzero(mask)
    second = np.zeros(len(rows)) if tiebreak is None else -tiebreak[rows]
    return rows[np.lexsort((rows, second, -key[rows]))].astype(np.int32)


def top_cuisines(
    candidates: Candidates, index: VenueIndex, weights: Mapping[str, float], count: int
) -> list[str]:
    """The cuisines served here, the customer's strongest first, then the most popular here."""
    matrix = index.cuisines.matrix[candidates.positions]
    present = np.flatnonzero(matrix.any(axis=0))
    if not len(present) or count <= 0:
        return []
    names = [index.cuisines.vocabulary[c] for c in present.tolist()]
    affinity = np.array([weights.get(name, 0.0) for name in names])
    popular = _column(candidates, "pop_orders_7d") @ matrix[:, present] + matrix[:, present].sum(0)
    order = np.lexsort((np.arange(len(names)), -popular, -affinity))[:count]
    return [names[i] for i in order.tolist()]


@dataclass(frozen=True, slots=True)
class Taste:
    """The customer and the venue embeddings "For you" retrieves with (``None``: no model)."""

    user_id: str
    factors: Factorisation | None = None


def for_you(
    candidates: Candidates, index: VenueIndex, not_ordered: BoolArray, taste: Taste | None
) -> IntArray:
    """Rows not ordered from: nearest the customer's embedding first, then the venues without
    a factor row in ranking order; all in ranking order when the customer has no vector.
    """
    in_rank_order = np.flatnonzero(not_ordered).astype(np.int32)
    if taste is None or taste.factors is None:
        return in_rank_order
    rows = rows_of(taste.factors.entity_ids, index.venue_ids[candidates.positions])
    neighbours = nearest(taste.factors, taste.user_id, np.where(not_ordered, rows, -1))
    if neighbours is None:
        return in_rank_order
    return np.concatenate([neighbours, in_rank_order[rows[in_rank_order] < 0]]).astype(np.int32)


def candidate_orders(
    candidates: Candidates,
    index: VenueIndex,
    cuisines: list[str],
    today: int,
    config: SectionConfig,
    taste: Taste | None = None,
) -> list[tuple[str, str, IntArray]]:
    """Each section's name, title and eligible rows in its own order, in filling priority."""
    count = len(candidates)
    rank = np.arange(count, dtype=np.float64)
    ordered = _column(candidates, "cv_orders") > 0
    onboarded = index.onboarded_day[candidates.positions]
    new = (onboarded != MISSING_DAY) & (onboarded >= today - config.new_days)
    popularity = _column(candidates, "pop_orders_7d")
    orders: list[tuple[str, str, IntArray]] = [
        (
            ORDER_AGAIN,
            TITLES[ORDER_AGAIN],
            _by(_column(candidates, "cv_orders"), ordered, _column(candidates, "cv_recency")),
        ),
        (FOR_YOU, TITLES[FOR_YOU], for_you(candidates, index, ~ordered, taste)),
        (NEW, TITLES[NEW], _by(-rank, new)),
        (POPULAR, TITLES[POPULAR], _by(popularity, popularity > 0)),
    ]
    for cuisine in cuisines:
        has = index.cuisines.mask(cuisine)[candidates.positions]
        title = cuisine.replace("_", " ").title()
        orders.append((CUISINE_PREFIX + cuisine, title, _by(-rank, has)))
    return orders


def build_sections(
    candidates: Candidates,
    index: VenueIndex,
    cuisine_weights: Mapping[str, float],
    today: int,
    config: SectionConfig,
    taste: Taste | None = None,
) -> list[Section]:
    """Non-empty sections; no venue in more than ``config.max_per_venue`` of them.

    ``today`` is the request's day number since the epoch (for "New"); ``taste`` drives "For
    you" (see :func:`for_you`).
    """
    cuisines = top_cuisines(candidates, index, cuisine_weights, config.cuisine_carousels)
    uses = np.zeros(len(candidates), dtype=np.int64)
    sections: list[Section] = []
    orders = candidate_orders(candidates, index, cuisines, today, config, taste)
    for name, title, order in orders:
        rows = order[uses[order] < config.max_per_venue][: config.venues_per_section]
        if len(rows):
            uses[rows] += 1
            sections.append(Section(name, title, rows))
    return sections


@dataclass(frozen=True, slots=True)
class Shown:
    """Where a request is served: the customer, their city and market, and the time."""

    user_id: str
    city_id: str | None
    market_id: str | None
    now: datetime


def section_arms(cuisines: Sequence[str]) -> list[str]:
    """The arm of every section there could be, with a carousel for each of ``cuisines``.

    >>> section_arms(["pizza"])[-2:]
    ['section:popular', 'section:cuisine:pizza']
    """
    names = [*TITLES, *(CUISINE_PREFIX + cuisine for cuisine in cuisines)]
    return [arm(SECTION, name) for name in names]


def order_sections(
    sections: list[Section],
    evidence: Callable[[list[str]], list[Evidence]],
    config: BanditConfig,
    rng: np.random.Generator,
) -> list[tuple[Section, float]]:
    """Sections by one Thompson draw of their click rate (customer → city → market priors);
    ``evidence`` gives the levels of the sections' arms."""
    if not sections:
        return []
    levels = evidence([arm(SECTION, s.name) for s in sections])
    draws = arm_scores(levels, np.zeros(len(sections)), config, rng).sampled
    order = np.lexsort((np.arange(len(sections)), -draws))
    return [(sections[i], float(draws[i])) for i in order.tolist()]
