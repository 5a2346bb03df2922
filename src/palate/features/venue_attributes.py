"""What features need to know about venues, handed in by the caller (features cannot import
the catalog): cuisines, categories, price levels and time zones, with lookups by venue id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from palate.domain.catalog import Catalog
from palate.pipeline.candidates import FloatArray, IntArray
from palate.pipeline.id_lookup import IdLookup

VenueIds = Sequence[str] | npt.NDArray[np.str_]


@dataclass(frozen=True, slots=True)
class TagTable:
    """A venue → tags relation (cuisines or categories) in two layouts.

    ``long`` (venue_id, tag, weight) serves the write path, where an event's weight is spread
    evenly over the venue's tags; ``padded`` (tag codes, one venue position per row) serves
    reads.
    """

    long: pl.DataFrame
    vocabulary: npt.NDArray[np.str_]  # the distinct tags, sorted
    padded: npt.NDArray[np.intp]  # (venues + 1, most tags) codes, padded with len(vocabulary)

    @classmethod
    def build(
        cls, mapping: Mapping[str, Sequence[str]], order: Sequence[str] | None = None
    ) -> TagTable:
        """From ``venue_id → tags``; duplicate tags of a venue count once. Venue positions
        follow ``order`` when given (venues it lists without tags have none)."""
        venues = list(mapping) if order is None else list(order)
        per_venue = [list(dict.fromkeys(mapping.get(v, ()))) for v in venues]
        counts = np.array([len(t) for t in per_venue], dtype=np.int32)
        flat = [tag for tags in per_venue for tag in tags]
        owners = np.repeat(np.array(venues, dtype=np.str_), counts)
        long = pl.DataFrame(
            {
                "venue_id": owners.tolist(),
                "tag": flat,
                "weight": np.repeat(1.0 / np.maximum(counts, 1), counts),
            },
            schema={"venue_id": pl.String, "tag": pl.String, "weight": pl.Float64},
        )
        vocabulary, codes = np.unique(np.array(flat, dtype=np.str_), return_inverse=True)
        return cls(long, vocabulary, _padded(counts, codes.astype(np.intp), len(vocabulary)))

    def per_tag(self, tags: npt.NDArray[np.str_], values: FloatArray) -> FloatArray:
        """``values`` of ``tags`` spread over ``vocabulary`` (0 for tags not given).

        >>> table = TagTable.build({"v": ["b", "a"]})
        >>> table.per_tag(np.array(["b", "zz"]), np.array([2.0, 9.0])).tolist()
        [0.0, 2.0]
        """
        spread = np.zeros(len(self.vocabulary))
        if len(self.vocabulary) and len(tags):
            at = np.minimum(np.searchsorted(self.vocabulary, tags), len(self.vocabulary) - 1)
            known = self.vocabulary[at] == tags
            spread[at[known]] = values[known]
        return spread

    def best_at(self, where: npt.NDArray[np.intp], per_tag: FloatArray) -> FloatArray:
        """For each venue (position, -1: unknown), the largest ``per_tag`` value among its
        tags (0 without tags): two gathers and a row max, whatever the tag counts.

        >>> table = TagTable.build({"v": ["a", "b"], "w": ["b"]})
        >>> table.best_at(np.array([1, 0, -1]), np.array([0.3, 0.1])).tolist()
        [0.1, 0.3, 0.0]
        """
        if self.padded.shape[1] == 0:
            return np.zeros(len(where))
        values = np.append(np.maximum(per_tag, 0.0), 0.0)  # the pad code reads 0
        best: FloatArray = values.take(self.padded.take(where, axis=0)).max(axis=1)
        return best


def _padded(counts: IntArray, codes: npt.NDArray[np.intp], pad: int) -> npt.NDArray[np.intp]:
    """Codes laid out one venue per row, padded; the extra last row (all pad) is for -1."""
    width = int(counts.max()) if len(counts) else 0
    padded = np.full((len(counts) + 1, width), pad, dtype=np.intp)
    owner = np.repeat(np.arange(len(counts)), counts)
    rank = np.arange(len(codes)) - np.repeat(np.cumsum(counts) - counts, counts)
    padded[owner, rank] = codes
    return padded


@dataclass(frozen=True, slots=True)
class VenueAttributes:
    """Venue facts the features use; build one per catalog version and swap it whole.

    >>> attrs = VenueAttributes.build(cuisines={"v1": ["sushi", "asian"]}, price_levels={"v1": 3})
    >>> attrs.price_level(["v1", "v2"]).tolist()
    [3.0, nan]
    >>> shares = attrs.cuisines.per_tag(np.array(["sushi"]), np.array([0.7]))
    >>> attrs.cuisines.best_at(attrs.positions(["v2", "v1"]), shares).tolist()
    [0.0, 0.7]
    """

    cuisines: TagTable
    categories: TagTable
    price_levels: Mapping[str, float] = field(default_factory=dict)
    price_frame: pl.DataFrame = field(default_factory=pl.DataFrame)
    timezones: Mapping[str, str] = field(default_factory=dict)
    """Venue id → IANA zone of its city, for features counted in the venue's local time."""
    venue_lookup: IdLookup = field(default_factory=lambda: IdLookup([]))
    """Venue id → position; tag tables and ``price_array`` share these positions."""
    price_array: FloatArray = field(default_factory=lambda: np.full(1, np.nan))
    """Price level per position, and one NaN past the end: the level position -1 reads."""

    @classmethod
    def build(
        cls,
        cuisines: Mapping[str, Sequence[str]] | None = None,
        categories: Mapping[str, Sequence[str]] | None = None,
        price_levels: Mapping[str, float] | None = None,
        timezones: Mapping[str, str] | None = None,
    ) -> VenueAttributes:
        """From plain mappings keyed by venue id (missing ones are empty)."""
        levels = {k: float(v) for k, v in (price_levels or {}).items()}
        cuisines, categories = cuisines or {}, categories or {}
        order = list(dict.fromkeys([*cuisines, *categories, *levels]))
        price_frame = pl.DataFrame(
            {"venue_id": list(levels), "price_level": list(levels.values())},
            schema={"venue_id": pl.String, "price_level": pl.Float64},
        )
        return cls(
            TagTable.build(cuisines, order),
            TagTable.build(categories, order),
            levels,
            price_frame,
            dict(timezones or {}),
            venue_lookup=IdLookup(order),
            price_array=np.array([*(levels.get(v, np.nan) for v in order), np.nan]),
        )

    @classmethod
    def empty(cls) -> VenueAttributes:
        """No venue facts: tag and price features read as neutral."""
        return cls.build()

    def tags(self, which: str) -> TagTable:
        """``cuisines`` or ``categories``."""
        return self.cuisines if which == "cuisines" else self.categories

    def price_level(self, venue_ids: VenueIds) -> FloatArray:
        """Price levels aligned with ``venue_ids`` (NaN when unknown)."""
        return self.price_level_at(self.positions(venue_ids))

    def positions(self, venue_ids: VenueIds) -> npt.NDArray[np.intp]:
        """Each venue's position in these attributes (-1 when unknown)."""
        return self.venue_lookup.positions(venue_ids)

    def price_level_at(self, where: npt.NDArray[np.intp]) -> FloatArray:
        """Price levels of the venues at these positions (NaN for -1)."""
        levels: FloatArray = self.price_array.take(where)  # -1 reads the NaN past the end
        return levels


def attributes_of(catalog: Catalog) -> VenueAttributes:
    """The venue facts the features need (cuisines, categories, price level, time zone)."""
    venues = catalog.venues.values()
    return VenueAttributes.build(
        cuisines={v.id: v.cuisines for v in venues},
        categories={v.id: v.categories for v in venues},
        price_levels={v.id: v.price_level for v in venues},
        timezones={v.id: catalog.timezone_of(v) for v in venues if v.city_id in catalog.cities},
    )
