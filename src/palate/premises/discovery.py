"""Discovery: the venues that can deliver to this customer now, ranked."""

from __future__ import annotations

from palate.catalog.editor import CatalogEditor
from palate.catalog.index import VenueIndex
from palate.domain.requests import RankingRequest
from palate.features.history import OrderHistory
from palate.pipeline import Pipeline
from palate.ranking.heuristic import HeuristicScorer, HeuristicWeights, ProximityScorer
from palate.ranking.hydrators import OrderHistoryFeatures
from palate.ranking.selectors import TopK
from palate.retrieval.deliverable import DeliverableVenues
from palate.retrieval.filters import NotTemporarilyClosed


def discovery_pipeline(
    index: VenueIndex, history: OrderHistory, editor: CatalogEditor, weights: HeuristicWeights
) -> Pipeline[RankingRequest]:
    """The Discovery pipeline with the heuristic ranker."""
    return Pipeline(
        name="discovery",
        sources=[DeliverableVenues(index)],  # delivery area, opening hours and status in one lookup
        filters=[NotTemporarilyClosed(editor)],
        hydrators=[OrderHistoryFeatures(history)],
        scorers=[HeuristicScorer(weights), ProximityScorer(weights)],
        selectors=[TopK()],
        fail_open=frozenset({"order_history"}),
    )
