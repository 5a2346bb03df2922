"""Cart: complementary items of the same venue, diversified across menu categories."""

from __future__ import annotations

from palate.catalog.item_query import ItemQuery
from palate.features.service import FeatureService
from palate.pipeline import Pipeline
from palate.ranking.item_features import CustomerProfile, ItemFeatures
from palate.ranking.item_scorers import (
    CartScorer,
    CategoryCap,
    ItemPopularityScorer,
    ItemWeights,
    MenuOrderScorer,
)
from palate.retrieval.items import AvailableItems, NotInCart, VenueItems
from palate.rules.alcohol import AlcoholRule


def cart_pipeline(
    features: FeatureService,
    alcohol: AlcoholRule,
    *,
    per_category: int = 1,
    weights: ItemWeights | None = None,
) -> Pipeline[ItemQuery]:
    """Venue items → available, not in the cart, alcohol rule → scored → category cap + limit."""
    return Pipeline(
        name="cart",
        sources=[VenueItems()],
        filters=[AvailableItems(), NotInCart(), alcohol],
        hydrators=[ItemFeatures(features), CustomerProfile(features)],
        scorers=[CartScorer(weights), ItemPopularityScorer(), MenuOrderScorer()],
        selectors=[CategoryCap(per_category)],  # the cap also truncates to the limit
        fail_open=frozenset({"item_features", "customer_profile"}),
    )
