"""Cart: complementary items of the same venue, diversified across menu categories."""

from __future__ import annotations

from collections.abc import Mapping

from palate.catalog.item_query import ItemQuery
from palate.catalog.items_index import ItemsIndex
from palate.domain.catalog import Catalog
from palate.features.pipeline_reads import FeatureReads
from palate.features.service import FeatureService
from palate.pipeline import Pipeline
from palate.pipeline.budget import OverrunBreaker
from palate.premises.venue_items import item_rules
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
from palate.rules.config import RuleBook
from palate.rules.stages import rule_filters, rule_selectors


def cart_pipeline(
    features: FeatureService,
    alcohol: AlcoholRule,
    *,
    per_category: int = 1,
    weights: ItemWeights | None = None,
    rules: RuleBook | None = None,
    catalog: Catalog | None = None,
    items: ItemsIndex | None = None,
    budgets_us: Mapping[str, float] | None = None,
    breaker: OverrunBreaker | None = None,
) -> Pipeline[ItemQuery]:
    """Venue items → available, not in the cart, alcohol rule, exclusions → scored → boosts,
    pins, sponsored slots, diversity caps → category cap + limit.

    Rules are those of premise ``cart`` (``catalog`` and ``items`` are required with them).
    The category cap stays last: it is a hard cap, so it may drop a placed item whose category
    is already full above it.
    """
    book, subject = item_rules(rules, catalog, items, "cart")
    return Pipeline(
        name="cart",
        sources=[VenueItems()],
        filters=[AvailableItems(), NotInCart(), alcohol, *rule_filters(book, subject)],
        hydrators=[ItemFeatures(features), CustomerProfile(features)],
        scorers=[CartScorer(weights), ItemPopularityScorer(), MenuOrderScorer()],
        # the cap also truncates to the limit
        selectors=[*rule_selectors(book, subject), CategoryCap(per_category)],
        fail_open=frozenset({"item_features", "customer_profile"}),
        budgets_us=dict(budgets_us or {}),
        breaker=breaker or OverrunBreaker(),
        shared_reads=FeatureReads(features),
    )
