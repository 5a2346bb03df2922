"""Entry points: banners, food-category tiles and brands that can be served here, personalised.

A tile is shown only when it leads somewhere deliverable and open: a category with such venues,
a brand with such venues, a banner valid now, in this market, whose target is one of those.
Each tile carries the customer's relevance in [0, 1]; :func:`order_tiles` mixes it with the
tile's click rate under Thompson sampling and the exploration budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from palate.catalog.index import VenueIndex
from palate.domain.catalog import Banner, Catalog
from palate.experiments.arms import BanditConfig, order_arms
from palate.experiments.budget import ExplorationBudget
from palate.features.affinity import TagAffinity
from palate.features.entity_engagement import EntityEngagement, Evidence, PlannedEvidence, arm
from palate.features.feature_set import FeatureSet
from palate.features.store import FeatureStore, Handle, MapValues, ReadBatch
from palate.pipeline.candidates import Candidates, FloatArray
from palate.premises.sections import Shown, section_arms


@dataclass(frozen=True, slots=True)
class Tile:
    """One servable entry point; ``fields`` go into the response as they are."""

    kind: str
    id: str
    relevance: float
    fields: dict[str, object] = field(default_factory=dict)


def _column(candidates: Candidates, name: str) -> FloatArray:
    return candidates.features.get(name, np.zeros(len(candidates)))


def _shares(values: FloatArray) -> FloatArray:
    """Values over their maximum (zeros when all are zero)."""
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else np.zeros(len(values))


def _category_relevance(
    candidates: Candidates, index: VenueIndex, catalog: Catalog, weights: Mapping[str, float]
) -> tuple[list[str], list[int], list[float]]:
    """Catalog categories with deliverable, open venues: ids, venue counts, affinity shares."""
    multi = index.columns.categories
    counts = multi.matrix.take(candidates.positions, axis=0).sum(axis=0)
    codes = [
        c for c in np.flatnonzero(counts).tolist() if multi.vocabulary[c] in catalog.categories
    ]
    ids = [multi.vocabulary[c] for c in codes]
    affinity = _shares(np.array([weights.get(cid, 0.0) for cid in ids]))
    return ids, counts.take(codes).tolist(), affinity.tolist()


def category_tiles(
    candidates: Candidates, index: VenueIndex, catalog: Catalog, weights: Mapping[str, float]
) -> list[Tile]:
    """Catalog categories with deliverable, open venues; relevance: the customer's affinity."""
    ids, counts, affinity = _category_relevance(candidates, index, catalog, weights)
    tiles = []
    for cid, venues, relevance in zip(ids, counts, affinity, strict=True):
        category = catalog.categories[cid]
        fields: dict[str, object] = {
            "category_id": cid,
            "slug": category.slug,
            "name": category.name,
            "venues": venues,
        }
        tiles.append(Tile("category", cid, relevance, fields))
    return tiles


def _brand_relevance(
    candidates: Candidates, index: VenueIndex
) -> tuple[list[str], list[int], list[float]]:
    """Brands with deliverable, open venues: ids, venue counts, shares of the customer's orders."""
    codes = index.brand.codes.take(candidates.positions)
    has = codes >= 0
    width = len(index.brand.vocabulary)
    venues = np.bincount(codes[has], minlength=width)
    orders = np.bincount(codes[has], weights=_column(candidates, "cv_orders")[has], minlength=width)
    present = np.flatnonzero(venues)
    relevance = _shares(orders.take(present).astype(np.float64, copy=False))
    ids = [index.brand.vocabulary[code] for code in present.tolist()]
    return ids, venues.take(present).tolist(), relevance.tolist()


def brand_tiles(candidates: Candidates, index: VenueIndex, catalog: Catalog) -> list[Tile]:
    """Brands with deliverable, open venues; relevance: the customer's orders from the brand."""
    tiles = []
    for bid, venues, share in zip(*_brand_relevance(candidates, index), strict=True):
        brand = catalog.brands.get(bid)
        name = bid if brand is None else brand.name
        tiles.append(Tile("brand", bid, share, {"brand_id": bid, "name": name, "venues": venues}))
    return tiles


def _venue_relevance(
    candidates: Candidates, index: VenueIndex, venue_ids: list[str]
) -> dict[str, float]:
    """Of ``venue_ids``, the deliverable ones: 1 when the customer ordered there, else their
    cuisine affinity."""
    relevance: dict[str, float] = {}
    for venue in venue_ids:  # a banner or two: no array of every candidate's relevance
        try:
            rows = np.flatnonzero(candidates.positions == index.position(venue))
        except KeyError:
            continue  # not in the catalog (any more)
        if len(rows):
            row = int(rows[0])
            ordered = _column(candidates, "cv_orders")[row] > 0
            affinity = float(np.clip(_column(candidates, "cuisine_affinity")[row], 0.0, 1.0))
            relevance[venue] = 1.0 if ordered else affinity
    return relevance


def _valid(banner: Banner, now: datetime) -> bool:
    """Inside the validity window; a bound without an offset is taken as UTC, not a crash."""

    def aware(moment: datetime | None) -> datetime | None:
        if moment is None or moment.tzinfo is not None:
            return moment
        return moment.replace(tzinfo=UTC)

    start, end = aware(banner.valid_from), aware(banner.valid_to)
    if start is not None and now < start:
        return False
    return end is None or now < end


def live_banners(catalog: Catalog, market_id: str | None, now: datetime) -> list[Banner]:
    """Banners valid now in this market (whether their target is deliverable is not known)."""
    return [
        b
        for b in catalog.banners.values()
        if _valid(b, now) and (not b.markets or market_id in b.markets)
    ]


@dataclass(frozen=True, slots=True)
class Here:
    """What can be served at this request: its venues (ranked) and where and when it is."""

    candidates: Candidates
    market_id: str | None
    now: datetime


def banner_tiles(
    here: Here, index: VenueIndex, catalog: Catalog, weights: Mapping[str, float]
) -> list[Tile]:
    """Banners valid now, in this market, pointing at something deliverable here (relevance:
    their target's, worked out only for the kinds of target these banners have)."""
    live = live_banners(catalog, here.market_id, here.now)
    targets: dict[str, dict[str, float]] = {}
    kinds = {b.target_kind for b in live}
    if "venue" in kinds:
        ids = [b.target_id for b in live if b.target_kind == "venue"]
        targets["venue"] = _venue_relevance(here.candidates, index, ids)
    if "category" in kinds:
        ids, _, shares = _category_relevance(here.candidates, index, catalog, weights)
        targets["category"] = dict(zip(ids, shares, strict=True))
    if "brand" in kinds:
        ids, _, shares = _brand_relevance(here.candidates, index)
        targets["brand"] = dict(zip(ids, shares, strict=True))
    tiles = []
    for banner in live:
        relevance = targets.get(banner.target_kind, {}).get(banner.target_id)
        if relevance is None:
            continue
        fields: dict[str, object] = {
            "banner_id": banner.id,
            "title": banner.title,
            "target_kind": banner.target_kind,
            "target_id": banner.target_id,
        }
        tiles.append(Tile("banner", banner.id, relevance, fields))
    return tiles


@dataclass(frozen=True, slots=True)
class Exploration:
    """The bandit's prior, the budget, and the generator of this request's draws."""

    bandit: BanditConfig
    budget: ExplorationBudget
    rng: np.random.Generator


def order_tiles(
    tiles: list[Tile],
    evidence: Callable[[list[str]], list[Evidence]],
    exploration: Exploration,
    limit: int,
) -> list[dict[str, object]]:
    """The first ``limit`` tiles in the budgeted Thompson order, explored ones marked;
    ``evidence`` gives the market, city and customer levels of the tiles' arms."""
    if not tiles:
        return []
    levels = evidence([arm(t.kind, t.id) for t in tiles])
    relevance = np.array([t.relevance for t in tiles])
    shown_count = min(limit, len(tiles))
    result = order_arms(
        levels, relevance, exploration.bandit, exploration.rng, exploration.budget, shown_count
    )
    out: list[dict[str, object]] = []
    for row, explored, score in zip(
        result.order[:limit].tolist(),
        result.explored[:limit].tolist(),
        result.score[:limit].tolist(),
        strict=True,
    ):
        tile = tiles[row]
        out.append({**tile.fields, "score": round(score, 6), "explored": explored})
    return out


def plan_tag_weights(
    reads: ReadBatch, features: FeatureSet, name: str, user_id: str
) -> Handle[MapValues] | None:
    """The read of the customer's weights per tag of an affinity feature (None when it is off)."""
    feature = features.get(name)
    return reads.map(feature.spec, user_id) if isinstance(feature, TagAffinity) else None


def weights_of(values: MapValues | None) -> dict[str, float]:
    """Tag → decayed weight, from :func:`plan_tag_weights`' read."""
    if values is None:
        return {}
    return dict(zip(values.fields.tolist(), values.values.tolist(), strict=True))


def tag_weights(
    store: FeatureStore, features: FeatureSet, name: str, user_id: str, now: datetime
) -> dict[str, float]:
    """The customer's decayed weight per tag of an affinity feature (empty when it is off)."""
    reads = ReadBatch()
    handle = plan_tag_weights(reads, features, name, user_id)
    if handle is None:
        return {}
    return weights_of(store.read(reads, now.timestamp())[handle])


@dataclass(frozen=True, slots=True)
class TileReads:
    """An entry point's reads planned into Discovery's: the customer's category weights and
    the click evidence of every tile it could show (which are shown is known only after)."""

    weights: Handle[MapValues] | None
    evidence: PlannedEvidence | None
    weights_feature: str | None = None  # whose tag weights ``weights`` reads


WEIGHTS_FEATURE = {
    "banners": "category_affinity",
    "categories": "category_affinity",
    "sections": "cuisine_affinity",
}
"""The affinity feature whose tag weights each kind of entry point reads (brands: none)."""


def possible_arms(
    kind: str, catalog: Catalog, market_id: str | None, now: datetime, cuisines: Sequence[str]
) -> list[str]:
    """Every arm an entry point could show here and now (``cuisines``: the index's, for the
    sections' carousels); empty for brands, too many to read ahead (their evidence is read
    once the tiles are known)."""
    if kind == "banners":
        return [arm("banner", b.id) for b in live_banners(catalog, market_id, now)]
    if kind == "categories":
        return [arm("category", category_id) for category_id in catalog.categories]
    if kind == "sections":
        return section_arms(cuisines)
    return []


def plan_tile_reads(
    reads: ReadBatch,
    kind: str,
    features: FeatureSet,
    engagement: EntityEngagement,
    catalog: Catalog,
    shown: Shown,
    cuisines: Sequence[str] = (),
) -> TileReads:
    """An entry point's reads (see :class:`TileReads`) planned into ``reads``."""
    weights, feature = None, WEIGHTS_FEATURE.get(kind)
    if feature is not None:
        weights = plan_tag_weights(reads, features, feature, shown.user_id)
    arms = possible_arms(kind, catalog, shown.market_id, shown.now, cuisines)
    if not arms:
        return TileReads(weights, None, feature)
    planned = engagement.plan_evidence(reads, arms, shown.user_id, shown.city_id, shown.market_id)
    return TileReads(weights, planned, feature)
