"""Discovery: the venues that can deliver to this customer now, ranked."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping

from palate.catalog.editor import CatalogEditor
from palate.catalog.index import VenueIndex
from palate.domain.market import City
from palate.domain.requests import RankingRequest
from palate.experiments.new_venues import NewVenueExploration
from palate.features.feature_set import FeatureSet
from palate.features.pipeline_reads import FeatureReads
from palate.features.service import FeatureService
from palate.pipeline import Pipeline
from palate.pipeline.budget import LastGood, OverrunBreaker
from palate.ranking.embedding_features import EMBEDDING_FEATURES, EmbeddingAffinity
from palate.ranking.heuristic import HeuristicScorer, HeuristicWeights, ProximityScorer
from palate.ranking.hot_swap import ModelHolder
from palate.ranking.hydrators import CONTEXT_FEATURES, OnlineFeatures, RequestContext
from palate.ranking.learned import LearnedScorer, served_factors
from palate.ranking.popularity import PopularityScorer
from palate.ranking.selectors import TopK
from palate.retrieval.deliverable import SOURCE_FEATURES, DeliverableVenues
from palate.retrieval.filters import NotTemporarilyClosed
from palate.rules.config import RuleBook
from palate.rules.stages import RULE_STAGES, rule_filters, rule_selectors
from palate.rules.subject import VenueSubject
from palate.settings import NewVenueExplorationSettings, StageBudgets

# Every column a Discovery ranking model may use, in a stable order.
DISCOVERY_FEATURES: tuple[str, ...] = (
    *SOURCE_FEATURES,
    *CONTEXT_FEATURES,
    *FeatureSet.from_config(None).venue_columns,
    *EMBEDDING_FEATURES,
)


def discovery_pipeline(
    index: VenueIndex,
    features: FeatureService,
    editor: CatalogEditor,
    weights: HeuristicWeights,
    *,
    models: ModelHolder | None = None,
    top_k: int = 200,
    rules: RuleBook | None = None,
    cities: Mapping[str, City] | None = None,
    budgets_us: Mapping[str, float] | None = None,
    last_good: LastGood[RankingRequest] | None = None,
    breaker: OverrunBreaker | None = None,
    exploration: NewVenueExplorationSettings | None = None,
) -> Pipeline[RankingRequest]:
    """The Discovery pipeline: learned ranker when a model is promoted, else the heuristic.

    Business rules run as stages: exclusions with the filters, then boosts, pins, sponsored
    slots and diversity caps between scoring and the final truncation.
    """
    heuristic = HeuristicScorer(weights)
    learned = [] if models is None else [LearnedScorer(models, heuristic, top_k=top_k)]
    book = rules or RuleBook()
    subject = VenueSubject(index, cities or {}, premise="discovery")
    return Pipeline(
        name="discovery",
        sources=[DeliverableVenues(index)],  # delivery area, opening hours and status in one lookup
        filters=[NotTemporarilyClosed(editor), *rule_filters(book, subject)],
        hydrators=[
            RequestContext(index),
            OnlineFeatures(features, index),
            EmbeddingAffinity(index, lambda: None if models is None else served_factors(models)),
        ],
        # learned → heuristic → popularity → proximity; then the last good result (runner)
        scorers=[*learned, heuristic, PopularityScorer(weights), ProximityScorer(weights)],
        selectors=[
            NewVenueExploration(index, features, exploration),
            *rule_selectors(book, subject),
            TopK(),
        ],
        fail_open=frozenset({"online_features", "embedding_affinity"}),
        budgets_us=dict(budgets_us or {}),
        last_good=last_good,
        breaker=breaker or OverrunBreaker(),
        shared_reads=FeatureReads(features),
    )


def location_cell(cell_m: float) -> Callable[[RankingRequest], Hashable]:
    """The key of the last-good cache: the request's square location cell of ``cell_m`` metres.

    >>> from datetime import UTC, datetime
    >>> from palate.domain.geo import Location
    >>> key = location_cell(500.0)
    >>> at = lambda lat, lon: RankingRequest("u", Location(lat, lon), datetime.now(UTC), 10)
    >>> key(at(60.1700, 24.9400)) == key(at(60.1701, 24.9401))
    True
    >>> key(at(60.17, 24.94)) == key(at(60.2, 24.94))
    False
    """
    metres_per_degree = 111_320.0

    def key(request: RankingRequest) -> Hashable:
        lat, lon = request.location.lat, request.location.lon
        scale = metres_per_degree * max(math.cos(math.radians(lat)), 0.01)
        return (round(lat * metres_per_degree / cell_m), round(lon * scale / cell_m))

    return key


def discovery_budgets(budgets: StageBudgets) -> dict[str, float]:
    """Stage name → budget in microseconds for the Discovery pipeline's stages (0: none)."""
    ms = {
        "learned": budgets.learned_ms,
        "heuristic": budgets.heuristic_ms,
        "popularity": budgets.popularity_ms,
        "deliverable_venues": budgets.sources_ms,
        "request_context": budgets.hydrators_ms,
        "online_features": budgets.hydrators_ms,
        "embedding_affinity": budgets.hydrators_ms,
        **dict.fromkeys(RULE_STAGES, budgets.rules_ms),
    }
    return {stage: value * 1_000 for stage, value in ms.items() if value > 0}


def proximity_pipeline(
    index: VenueIndex,
    editor: CatalogEditor,
    weights: HeuristicWeights,
    rules: RuleBook,
    cities: Mapping[str, City],
) -> Pipeline[RankingRequest]:
    """The emergency Discovery ranking when the full pipeline failed and nothing good is cached:
    deliverable, open, not excluded, closest and best rated first. No features, no model."""
    subject = VenueSubject(index, cities, premise="discovery")
    return Pipeline(
        name="discovery_fallback",
        sources=[DeliverableVenues(index)],
        filters=[NotTemporarilyClosed(editor), *rule_filters(rules, subject)],
        scorers=[ProximityScorer(weights)],
        selectors=[TopK()],
    )
