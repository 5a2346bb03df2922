"""Discovery: the venues that can deliver to this customer now, ranked."""

from __future__ import annotations

from palate.catalog.editor import CatalogEditor
from palate.catalog.index import VenueIndex
from palate.domain.requests import RankingRequest
from palate.features.feature_set import FeatureSet
from palate.features.service import FeatureService
from palate.pipeline import Pipeline
from palate.ranking.heuristic import HeuristicScorer, HeuristicWeights, ProximityScorer
from palate.ranking.hot_swap import ModelHolder
from palate.ranking.hydrators import CONTEXT_FEATURES, OnlineFeatures, RequestContext
from palate.ranking.learned import LearnedScorer
from palate.ranking.selectors import TopK
from palate.retrieval.deliverable import SOURCE_FEATURES, DeliverableVenues
from palate.retrieval.filters import NotTemporarilyClosed

# Every column a Discovery ranking model may use, in a stable order.
DISCOVERY_FEATURES: tuple[str, ...] = (
    *SOURCE_FEATURES,
    *CONTEXT_FEATURES,
    *FeatureSet.from_config(None).venue_columns,
)


def discovery_pipeline(
    index: VenueIndex,
    features: FeatureService,
    editor: CatalogEditor,
    weights: HeuristicWeights,
    *,
    models: ModelHolder | None = None,
    top_k: int = 200,
) -> Pipeline[RankingRequest]:
    """The Discovery pipeline: learned ranker when a model is promoted, else the heuristic."""
    heuristic = HeuristicScorer(weights)
    learned = [] if models is None else [LearnedScorer(models, heuristic, top_k=top_k)]
    return Pipeline(
        name="discovery",
        sources=[DeliverableVenues(index)],  # delivery area, opening hours and status in one lookup
        filters=[NotTemporarilyClosed(editor)],
        hydrators=[RequestContext(index), OnlineFeatures(features, index)],
        scorers=[*learned, heuristic, ProximityScorer(weights)],  # learned → heuristic → proximity
        selectors=[TopK()],
        fail_open=frozenset({"online_features"}),
    )
