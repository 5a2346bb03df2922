"""What a rule stage needs to know about a premise's candidates: ids, scope, groups.

Rules name entities by id and scope by market or city; a :class:`RuleSubject` turns a premise's
query and candidates into those terms, so the same stages serve venues, items or tiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from palate.catalog.index import VenueIndex
from palate.domain.market import City
from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates
from palate.rules.config import Scope

Q_contra = TypeVar("Q_contra", contravariant=True)
GroupBy = Literal["brand", "cuisine"]
ObjectArray = npt.NDArray[np.object_]
BoolMatrix = npt.NDArray[np.bool_]


class RuleSubject(Protocol[Q_contra]):
    """A premise's view for the rule stages."""

    premise: str

    def when(self, query: Q_contra) -> datetime:
        """The request time, against which validity windows are checked."""
        ...

    def scope(self, query: Q_contra, candidates: Candidates) -> Scope:
        """The market and city whose rules apply."""
        ...

    def ids(self, candidates: Candidates) -> ObjectArray:
        """The entity id of each candidate."""
        ...

    def groups(self, candidates: Candidates, by: GroupBy) -> BoolMatrix:
        """Membership of each candidate (rows) in each group of ``by`` (columns)."""
        ...


class VenueSubject:
    """Venues of the serving index (Discovery, category pages).

    The request's city is the one most of its deliverable candidates belong to, because a
    Discovery request carries a location, not a city.
    """

    def __init__(
        self, index: VenueIndex, cities: Mapping[str, City], premise: str = "discovery"
    ) -> None:
        self.index = index
        self.cities = cities
        self.premise = premise

    def when(self, query: RankingRequest) -> datetime:
        """The request time."""
        return query.when

    def scope(self, query: RankingRequest, candidates: Candidates) -> Scope:  # noqa: ARG002
        """The majority city of the candidates and its market."""
        if not len(candidates):
            return Scope()
        codes = self.index.city.codes[candidates.positions]
        codes = codes[codes >= 0]
        if not len(codes):
            return Scope()
        city_id = self.index.city.vocabulary[int(np.bincount(codes).argmax())]
        city = self.cities.get(city_id)
        return Scope(market=None if city is None else city.market_id, city=city_id)

    def ids(self, candidates: Candidates) -> ObjectArray:
        """Venue ids."""
        ids: ObjectArray = self.index.venue_ids[candidates.positions]
        return ids

    def groups(self, candidates: Candidates, by: GroupBy) -> BoolMatrix:
        """Brand (one-hot; no brand is no group) or cuisine (multi-hot) membership."""
        if by == "cuisine":
            matrix: BoolMatrix = self.index.cuisines.matrix[candidates.positions]
            return matrix
        codes = self.index.brand.codes[candidates.positions]
        width = len(self.index.brand.vocabulary)
        onehot: BoolMatrix = np.zeros((len(codes), width), dtype=np.bool_)
        has = codes >= 0
        onehot[np.flatnonzero(has), codes[has]] = True
        return onehot
