"""Columnar venue attributes: one numpy array per field, strings dictionary-encoded.

A :class:`VenueColumns` is the attribute half of a serving snapshot; rankers read features
straight from it by venue position.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from palate.domain.venue import Venue, VenueStatus

STATUS_ORDER: tuple[VenueStatus, ...] = tuple(VenueStatus)
STATUS_CODE: dict[VenueStatus, int] = {status: code for code, status in enumerate(STATUS_ORDER)}
PAUSED_CODE = STATUS_CODE[VenueStatus.PAUSED]
EPOCH = date(1970, 1, 1)
MISSING_DAY = int(np.iinfo(np.int32).min)


@dataclass(frozen=True, slots=True)
class Codes:
    """Dictionary-encoded strings: ``codes[i]`` indexes ``vocabulary``; ``-1`` is missing.

    >>> brands = Codes.encode(["b2", None, "b1", "b2"])
    >>> brands.codes.tolist(), brands.vocabulary, brands.mask("b2").tolist()
    ([1, -1, 0, 1], ('b1', 'b2'), [True, False, False, True])
    """

    codes: npt.NDArray[np.int32]
    vocabulary: tuple[str, ...]
    labels: npt.NDArray[np.object_] = field(init=False, repr=False, compare=False)
    """The vocabulary as objects, and ``None`` past its end, which code ``-1`` reads."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", np.array([*self.vocabulary, None], dtype=np.object_))

    @classmethod
    def encode(cls, values: Sequence[str | None]) -> Codes:
        """Encode with a sorted vocabulary so codes do not depend on row order."""
        vocabulary = tuple(sorted({v for v in values if v is not None}))
        lookup = {value: code for code, value in enumerate(vocabulary)}
        codes = np.fromiter(
            (-1 if v is None else lookup[v] for v in values), dtype=np.int32, count=len(values)
        )
        return cls(codes, vocabulary)

    def labels_at(self, rows: npt.NDArray[np.integer]) -> list[str | None]:
        """The strings of these rows (``None`` where missing), two gathers and no loop.

        >>> Codes.encode(["b2", None, "b1"]).labels_at(np.array([2, 1, 0]))
        ['b1', None, 'b2']
        """
        labels: list[str | None] = self.labels.take(self.codes.take(rows)).tolist()
        return labels

    def code_of(self, value: str) -> int:
        """The code of ``value``, ``-1`` when it never occurs (a binary search: the
        vocabulary is sorted, and this runs per request over the whole catalogue's)."""
        at = bisect.bisect_left(self.vocabulary, value)
        return at if at < len(self.vocabulary) and self.vocabulary[at] == value else -1

    def mask(self, value: str) -> npt.NDArray[np.bool_]:
        """Rows equal to ``value``."""
        code = self.code_of(value)
        if code < 0:
            return np.zeros(len(self.codes), dtype=np.bool_)
        return np.asarray(self.codes == code, dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class MultiHot:
    """Set-valued strings as a bool matrix: ``matrix[row, code]`` is membership.

    >>> cuisines = MultiHot.encode([("pizza", "italian"), (), ("sushi",)])
    >>> cuisines.vocabulary, cuisines.mask("pizza").tolist()
    (('italian', 'pizza', 'sushi'), [True, False, False])
    """

    matrix: npt.NDArray[np.bool_]
    vocabulary: tuple[str, ...]

    @classmethod
    def encode(cls, values: Sequence[Sequence[str]]) -> MultiHot:
        """Encode each row's values; duplicates within a row are harmless."""
        vocabulary = tuple(sorted({v for row in values for v in row}))
        lookup = {value: code for code, value in enumerate(vocabulary)}
        lengths = np.fromiter((len(row) for row in values), dtype=np.int64, count=len(values))
        rows = np.repeat(np.arange(len(values)), lengths)
        codes = np.fromiter(
            (lookup[v] for row in values for v in row), dtype=np.int64, count=int(lengths.sum())
        )
        matrix = np.zeros((len(values), len(vocabulary)), dtype=np.bool_)
        matrix[rows, codes] = True
        return cls(matrix, vocabulary)

    def mask(self, value: str) -> npt.NDArray[np.bool_]:
        """Rows whose set contains ``value``."""
        if value not in self.vocabulary:
            return np.zeros(self.matrix.shape[0], dtype=np.bool_)
        return self.matrix[:, self.vocabulary.index(value)].copy()


@dataclass(frozen=True, slots=True)
class VenueColumns:
    """Every venue attribute a ranker needs, aligned by venue position.

    ``status`` is the one mutable array: :meth:`VenueIndex.set_status` writes single elements
    in place so a status flip is O(1) and visible to the next query.
    """

    venue_ids: npt.NDArray[np.object_]
    positions: dict[str, int]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    delivery_radius_m: npt.NDArray[np.float64]
    has_polygon: npt.NDArray[np.bool_]
    price_level: npt.NDArray[np.int8]
    rating: npt.NDArray[np.float64]
    rating_count: npt.NDArray[np.int64]
    prep_time_min: npt.NDArray[np.float64]
    status: npt.NDArray[np.int8]
    onboarded_day: npt.NDArray[np.int32]
    brand: Codes
    city: Codes
    timezone: Codes
    cuisines: MultiHot
    tags: MultiHot
    categories: MultiHot

    def __len__(self) -> int:
        return len(self.venue_ids)

    def position(self, venue_id: str) -> int:
        """The row of ``venue_id``; raises ``KeyError`` for an unknown venue."""
        return self.positions[venue_id]

    @classmethod
    def from_venues(cls, venues: Sequence[Venue], timezones: Sequence[str]) -> VenueColumns:
        """Columns for ``venues`` in order; ``timezones[i]`` is venue ``i``'s IANA zone."""
        return cls(
            venue_ids=np.array([v.id for v in venues], dtype=np.object_),
            positions={v.id: i for i, v in enumerate(venues)},
            lat=_floats([v.location.lat for v in venues]),
            lon=_floats([v.location.lon for v in venues]),
            delivery_radius_m=_floats([v.delivery_radius_m for v in venues]),
            has_polygon=np.array([bool(v.delivery_polygon) for v in venues], dtype=np.bool_),
            price_level=np.array([v.price_level for v in venues], dtype=np.int8),
            rating=_floats([v.rating for v in venues]),
            rating_count=np.array([v.rating_count for v in venues], dtype=np.int64),
            prep_time_min=_floats([v.prep_time_min for v in venues]),
            status=np.array([STATUS_CODE[v.status] for v in venues], dtype=np.int8),
            onboarded_day=np.array([_day_number(v.onboarded_on) for v in venues], dtype=np.int32),
            brand=Codes.encode([v.brand_id for v in venues]),
            city=Codes.encode([v.city_id for v in venues]),
            timezone=Codes.encode(timezones),
            cuisines=MultiHot.encode([v.cuisines for v in venues]),
            tags=MultiHot.encode([v.tags for v in venues]),
            categories=MultiHot.encode([v.categories for v in venues]),
        )


def _floats(values: list[float]) -> npt.NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


def _day_number(day: date | None) -> int:
    """Days since 1970-01-01 (Arrow's date32), :data:`MISSING_DAY` when unknown."""
    return MISSING_DAY if day is None else (day - EPOCH).days
