"""What features need to know about venues, handed in by the caller (features cannot import
the catalog): cuisines, categories and price levels, with columnar lookups by venue id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from palate.domain.catalog import Catalog
from palate.pipeline.candidates import FloatArray, IntArray

VenueIds = Sequence[str] | npt.NDArray[np.str_]


@dataclass(frozen=True, slots=True)
class TagTable:
    """A venue → tags relation (cuisines or categories) in two layouts.

    ``long`` (venue_id, tag, weight) serves the write path, where an event's weight is spread
    evenly over the venue's tags; ``indptr``/``tags`` (CSR over venue positions) serve reads.
    """

    long: pl.DataFrame
    index: dict[str, int]
    indptr: IntArray
    tags: npt.NDArray[np.str_]

    @classmethod
    def build(cls, mapping: Mapping[str, Sequence[str]]) -> TagTable:
        """From ``venue_id → tags``; duplicate tags of a venue count once."""
        venues = list(mapping)
        per_venue = [list(dict.fromkeys(mapping[v])) for v in venues]
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
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        index = {venue: at for at, venue in enumerate(venues)}
        return cls(long, index, indptr, np.array(flat, dtype=np.str_))

    def rows(self, venue_ids: VenueIds) -> tuple[IntArray, npt.NDArray[np.str_]]:
        """For each requested venue, its tags: the owner's request position and the tag."""
        where = np.fromiter(
            (self.index.get(v, -1) for v in venue_ids), dtype=np.int64, count=len(venue_ids)
        )
        known = np.flatnonzero(where >= 0)
        starts = self.indptr[where[known]]
        lengths = self.indptr[where[known] + 1] - starts
        owner = np.repeat(known, lengths).astype(np.int32)
        # Position of each tag: its venue's start plus its rank within the venue.
        rank = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return owner, self.tags[np.repeat(starts, lengths) + rank]


@dataclass(frozen=True, slots=True)
class VenueAttributes:
    """Venue facts the features use; build one per catalog version and swap it whole.

    >>> attrs = VenueAttributes.build(cuisines={"v1": ["sushi", "asian"]}, price_levels={"v1": 3})
    >>> attrs.price_level(["v1", "v2"]).tolist()
    [3.0, nan]
    >>> [a.tolist() for a in attrs.cuisines.rows(["v2", "v1"])]
    [[1, 1], ['sushi', 'asian']]
    """

    cuisines: TagTable
    categories: TagTable
    price_levels: Mapping[str, float] = field(default_factory=dict)
    price_frame: pl.DataFrame = field(default_factory=pl.DataFrame)

    @classmethod
    def build(
        cls,
        cuisines: Mapping[str, Sequence[str]] | None = None,
        categories: Mapping[str, Sequence[str]] | None = None,
        price_levels: Mapping[str, float] | None = None,
    ) -> VenueAttributes:
        """From plain mappings keyed by venue id (missing ones are empty)."""
        levels = {k: float(v) for k, v in (price_levels or {}).items()}
        price_frame = pl.DataFrame(
            {"venue_id": list(levels), "price_level": list(levels.values())},
            schema={"venue_id": pl.String, "price_level": pl.Float64},
        )
        return cls(
            TagTable.build(cuisines or {}), TagTable.build(categories or {}), levels, price_frame
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
        levels = self.price_levels
        return np.fromiter(
            (levels.get(v, np.nan) for v in venue_ids), dtype=np.float64, count=len(venue_ids)
        )


def attributes_of(catalog: Catalog) -> VenueAttributes:
    """The venue facts the features need (cuisines, categories, price level) from a catalog."""
    venues = catalog.venues.values()
    return VenueAttributes.build(
        cuisines={v.id: v.cuisines for v in venues},
        categories={v.id: v.categories for v in venues},
        price_levels={v.id: v.price_level for v in venues},
    )
