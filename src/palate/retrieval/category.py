"""Category pages: Discovery's candidates narrowed to the venues of one food category."""

from __future__ import annotations

from dataclasses import dataclass

from palate.catalog.index import VenueIndex
from palate.domain.catalog import Catalog
from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import BoolArray, Candidates


@dataclass(frozen=True, slots=True)
class CategoryRequest(RankingRequest):
    """A Discovery request for the venues of ``category_id``."""

    category_id: str


def resolve_category(catalog: Catalog, key: str) -> str | None:
    """The category id named by ``key`` (an id or a slug); None when there is none.

    >>> from palate.domain.catalog import Category
    >>> catalog = Catalog(categories={"c0": Category("c0", "pizza", "Pizza")})
    >>> [resolve_category(catalog, key) for key in ("pizza", "c0", "sushi")]
    ['c0', 'c0', None]
    """
    if key in catalog.categories:
        return key
    return next((c.id for c in catalog.categories.values() if c.slug == key), None)


class InCategory:
    """Keeps venues whose ``categories`` hold the requested category."""

    name = "in_category"

    def __init__(self, index: VenueIndex) -> None:
        self.index = index

    def keep(self, request: CategoryRequest, candidates: Candidates) -> BoolArray:
        """True where the venue lists the category."""
        categories = self.index.columns.categories
        if request.category_id not in categories.vocabulary:
            return candidates.positions < 0  # all False: no venue has it (yet)
        code = categories.vocabulary.index(request.category_id)
        result: BoolArray = categories.matrix[candidates.positions, code]
        return result
