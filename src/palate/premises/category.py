"""Category page: Discovery's ranking restricted to the venues of one food category."""

from __future__ import annotations

from palate.catalog.index import VenueIndex
from palate.domain.requests import RankingRequest
from palate.pipeline import Pipeline
from palate.retrieval.category import CategoryRequest, InCategory


def category_pipeline(
    discovery: Pipeline[RankingRequest], index: VenueIndex
) -> Pipeline[CategoryRequest]:
    """Discovery's source, hydrators, scorer chain and selectors; the category is a filter.

    The category filter runs first, so hydration and scoring only pay for the category's venues.
    """
    return Pipeline(
        name="category",
        sources=discovery.sources,
        filters=[InCategory(index), *discovery.filters],
        hydrators=discovery.hydrators,
        scorers=discovery.scorers,
        selectors=discovery.selectors,
        fail_open=discovery.fail_open,
        budgets_us=discovery.budgets_us,
    )
