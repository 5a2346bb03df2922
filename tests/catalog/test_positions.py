"""Venue ids to serving-index positions, across catalog versions."""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa

from palate.catalog import VenueIndex
from palate.catalog.positions import venue_positions
from palate.domain import Catalog


def test_known_unknown_and_missing_ids(index: VenueIndex) -> None:
    first, last = index.venue_ids[0], index.venue_ids[-1]
    asked = pa.array([last, "no-such-venue", None, first], pa.string())
    assert venue_positions(index, asked).tolist() == [len(index.venue_ids) - 1, -1, -1, 0]


def test_a_venue_added_later_is_found(index: VenueIndex, catalog: Catalog) -> None:
    template = next(iter(catalog.venues.values()))
    assert venue_positions(index, pa.array(["added-later"])).tolist() == [-1]
    index.upsert([replace(template, id="added-later")])
    assert venue_positions(index, pa.array(["added-later"])).tolist() == [len(index) - 1]
