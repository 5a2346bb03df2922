"""Hydrators that read the customer's and the venues' behavioural features."""

from __future__ import annotations

from palate.domain.requests import RankingRequest
from palate.features.history import OrderHistory
from palate.pipeline.candidates import Candidates, FloatArray


class OrderHistoryFeatures:
    """The customer's order count per candidate venue and each venue's total orders."""

    name = "order_history"

    def __init__(self, history: OrderHistory) -> None:
        self.history = history

    def hydrate(self, request: RankingRequest, candidates: Candidates) -> dict[str, FloatArray]:
        """``user_venue_orders`` and ``venue_orders`` aligned with the candidates."""
        return {
            "user_venue_orders": self.history.user_counts(request.user_id, candidates.positions),
            "venue_orders": self.history.venue_counts(candidates.positions),
        }
