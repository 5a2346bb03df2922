"""In venue: the venue's available items ranked for this customer, and the menu's sections."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from palate.catalog.item_query import ItemQuery
from palate.catalog.items_index import ItemColumns, ItemsIndex
from palate.domain.catalog import Catalog
from palate.features.pipeline_reads import FeatureReads
from palate.features.service import FeatureService
from palate.pipeline import Pipeline
from palate.pipeline.budget import OverrunBreaker
from palate.pipeline.candidates import Candidates
from palate.premises.item_budgets import ITEM_HYDRATORS
from palate.ranking.embedding_features import Factorisation
from palate.ranking.item_embedding import ItemEmbeddingAffinity
from palate.ranking.item_features import CustomerProfile, ItemFeatures
from palate.ranking.item_hour_features import ItemHourFeatures
from palate.ranking.item_scorers import (
    HOUR_POPULARITY,
    ItemHeuristicScorer,
    ItemPopularityScorer,
    ItemWeights,
    MenuOrderScorer,
)
from palate.retrieval.items import AvailableItems, VenueItems
from palate.rules.alcohol import AlcoholRule
from palate.rules.config import RuleBook
from palate.rules.item_subject import ItemSubject
from palate.rules.stages import rule_filters, rule_selectors

FAVOURITES = "Your favourites"
POPULAR_NOW = "Popular now"
SECTION_SIZE = 10
# "Popular now" leaves out items selling at this hour well below the venue's own pace there
# (their smoothed hour lift), so a breakfast favourite does not headline the dinner menu.
POPULAR_NOW_MIN_LIFT = 0.75


def venue_items_pipeline(
    features: FeatureService,
    alcohol: AlcoholRule,
    weights: ItemWeights | None = None,
    *,
    rules: RuleBook | None = None,
    catalog: Catalog | None = None,
    items: ItemsIndex | None = None,
    item_factors: Callable[[], Factorisation | None] | None = None,
    budgets_us: Mapping[str, float] | None = None,
    breaker: OverrunBreaker | None = None,
) -> Pipeline[ItemQuery]:
    """Every available item of the venue, scored; the route truncates and builds sections.

    ``item_factors`` gives the customer × item embeddings of the serving model (read once per
    request); their affinity is a scoring term, left out when there are none (fail-open).

    With ``rules`` (premise ``venue_items``; ``catalog`` and ``items`` are then required)
    exclusions run with the filters, and boosts, pins, sponsored slots and diversity caps after
    scoring, before the route's truncation.
    """
    book, subject = item_rules(rules, catalog, items, "venue_items")
    return Pipeline(
        name="venue_items",
        sources=[VenueItems()],
        filters=[AvailableItems(), alcohol, *rule_filters(book, subject)],
        hydrators=[
            ItemFeatures(features),
            CustomerProfile(features),
            ItemHourFeatures(features),
            ItemEmbeddingAffinity(item_factors or _no_factors),
        ],
        scorers=[ItemHeuristicScorer(weights), ItemPopularityScorer(), MenuOrderScorer()],
        selectors=rule_selectors(book, subject),
        fail_open=frozenset(ITEM_HYDRATORS),
        budgets_us=dict(budgets_us or {}),
        breaker=breaker or OverrunBreaker(),
        shared_reads=FeatureReads(features),
    )


def _no_factors() -> Factorisation | None:
    return None


def item_rules(
    rules: RuleBook | None, catalog: Catalog | None, items: ItemsIndex | None, premise: str
) -> tuple[RuleBook, ItemSubject]:
    """The rule book and subject of an item premise; no rules gives an empty book."""
    if rules is not None and (catalog is None or items is None):
        raise ValueError("rules need the catalog and the items index")
    subject = ItemSubject(catalog or Catalog(), items or ItemsIndex.build(()), premise)
    return rules or RuleBook(), subject


@dataclass(frozen=True, slots=True)
class Section:
    """A titled list of item ids; ``category`` is set for menu-category sections."""

    title: str
    item_ids: list[str]
    category: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The response shape (``dataclasses.asdict`` without its deep copies)."""
        return {"title": self.title, "item_ids": self.item_ids, "category": self.category}


def _ids(columns: ItemColumns, candidates: Candidates, rows: np.ndarray) -> list[str]:
    ids: list[str] = columns.item_ids[candidates.positions[rows]].tolist()
    return ids


def _column(candidates: Candidates, name: str) -> np.ndarray:
    return candidates.features.get(name, np.zeros(len(candidates)))


def favourites(columns: ItemColumns, ranked: Candidates) -> Section:
    """Items the customer ordered before: most orders first, then the most recent."""
    orders = _column(ranked, "user_item_orders")
    days = _column(ranked, "user_item_days_since")
    mine = np.flatnonzero(orders > 0)
    order = mine[np.lexsort((days[mine], -orders[mine]))][:SECTION_SIZE]
    return Section(FAVOURITES, _ids(columns, ranked, order))


def popular_now(columns: ItemColumns, ranked: Candidates) -> Section:
    """The venue's best sellers at this local hour (decayed, so recent sales weigh most).

    Popularity at this hour is smoothed toward all-day popularity; items whose hour lift is
    under :data:`POPULAR_NOW_MIN_LIFT` are left out. Without the hour columns (feature off or
    its read failed open): the all-day best sellers.
    """
    popularity = ranked.features.get(HOUR_POPULARITY)  # the default only when it is missing
    popularity = _column(ranked, "item_pop") if popularity is None else popularity
    lift = ranked.features.get("item_hour_lift", np.ones(len(ranked)))
    sold = np.flatnonzero((popularity > 0) & (lift >= POPULAR_NOW_MIN_LIFT))
    order = sold[np.argsort(-popularity[sold], kind="stable")][:SECTION_SIZE]
    return Section(POPULAR_NOW, _ids(columns, ranked, order))


def menu_sections(columns: ItemColumns, ranked: Candidates) -> list[Section]:
    """One section per menu category: the customer's affinity first, then popularity.

    Items inside a section keep the personalised ranking order.
    """
    codes = columns.category.codes.take(ranked.positions)
    if not len(codes):
        return []
    # A stable sort by category code groups the items and keeps the ranking inside each group;
    # each group's best affinity and total sales are then reductions over contiguous runs.
    by_group = np.argsort(codes, kind="stable")
    counts = np.bincount(codes - codes.min())
    sizes = counts[counts > 0]
    ends = np.cumsum(sizes)
    starts = ends - sizes
    affinity = np.maximum.reduceat(_column(ranked, "menu_category_share").take(by_group), starts)
    sold = np.add.reduceat(_column(ranked, "item_pop").take(by_group), starts)
    grouped = codes.take(by_group)
    present = grouped.take(starts)
    ids = columns.item_ids.take(ranked.positions.take(by_group)).tolist()
    names = columns.category.labels.take(present).tolist()
    bounds = list(zip(starts.tolist(), ends.tolist(), strict=True))
    sections = []
    for at in np.lexsort((present, -sold, -affinity)).tolist():
        start, end = bounds[at]
        sections.append(Section(names[at], ids[start:end], category=names[at]))
    return sections


def sections(columns: ItemColumns, ranked: Candidates) -> list[Section]:
    """ "Your favourites", "Popular now" (each only when non-empty), then the menu categories."""
    head = [s for s in (favourites(columns, ranked), popular_now(columns, ranked)) if s.item_ids]
    return [*head, *menu_sections(columns, ranked)]
