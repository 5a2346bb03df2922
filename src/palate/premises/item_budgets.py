"""Stage budgets of the item premises (in-venue, cart), from ``[budgets.venue_items|cart]``."""

from __future__ import annotations

from palate.rules.stages import RULE_STAGES
from palate.settings import ItemStageBudgets

ITEM_HYDRATORS = (
    "item_features",
    "customer_profile",
    "item_hour_features",
    "item_embedding_affinity",
)


def item_budgets(budgets: ItemStageBudgets, scorer: str) -> dict[str, float]:
    """Stage name → budget in microseconds (0: none), ``scorer`` being the premise's own.

    >>> item_budgets(ItemStageBudgets(scorer_ms=2, rules_ms=0), "cart_heuristic")["cart_heuristic"]
    2000.0
    """
    ms = {
        scorer: budgets.scorer_ms,
        "item_popularity": budgets.popularity_ms,
        "venue_items": budgets.sources_ms,
        **dict.fromkeys(ITEM_HYDRATORS, budgets.hydrators_ms),
        **dict.fromkeys(RULE_STAGES, budgets.rules_ms),
    }
    return {stage: value * 1_000 for stage, value in ms.items() if value > 0}
