"""Banner tiles take their target's relevance: a venue's, a brand's or a category's."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from palate.catalog.index import VenueIndex
from palate.domain.catalog import Banner, Category
from palate.pipeline.candidates import Candidates
from palate.premises.entry_points import Here, banner_tiles, brand_tiles, category_tiles
from tests.catalog.builders import tiny_catalog

NOW = datetime(2026, 9, 18, 19, 0, tzinfo=UTC)
BANNERS = {
    "ordered": Banner("ordered", "Again", "venue", "edge"),
    "liked": Banner("liked", "Liked", "venue", "late"),
    "far": Banner("far", "Not here", "venue", "poly"),
    "ghost": Banner("ghost", "Gone", "venue", "no-such-venue"),
    "brand": Banner("brand", "Brand", "brand", "b1"),
    "category": Banner("category", "Category", "category", "c1"),
    "expired": Banner("expired", "Old", "venue", "edge", (), None, datetime(2026, 1, 1)),  # noqa: DTZ001
}


def _here() -> tuple[Here, VenueIndex, object]:
    catalog = tiny_catalog()
    catalog = replace(
        catalog,
        venues={
            **catalog.venues,
            "edge": replace(catalog.venues["edge"], categories=("c1",)),
            "late": replace(catalog.venues["late"], categories=("c1", "c2")),
        },
        banners=BANNERS,
        categories={c: Category(c, c, c.upper()) for c in ("c1", "c2")},
    )
    index = VenueIndex.build(catalog)
    positions = np.array([index.position(v) for v in ("late", "edge", "sunday")], dtype=np.int32)
    candidates = Candidates(
        positions,
        {"cv_orders": np.array([0.0, 2.0, 0.0]), "cuisine_affinity": np.array([0.4, 0.9, 0.2])},
    )
    return Here(candidates, "fi", NOW), index, catalog


def test_each_banner_takes_its_deliverable_targets_relevance() -> None:
    here, index, catalog = _here()
    weights = {"c1": 2.0, "c2": 1.0}
    tiles = {t.id: t.relevance for t in banner_tiles(here, index, catalog, weights)}  # type: ignore[arg-type]
    brands = {t.id: t.relevance for t in brand_tiles(here.candidates, index, catalog)}  # type: ignore[arg-type]
    categories = {
        t.id: t.relevance
        for t in category_tiles(here.candidates, index, catalog, weights)  # type: ignore[arg-type]
    }
    assert set(tiles) == {"ordered", "liked", "brand", "category"}  # the rest: not deliverable
    assert tiles["ordered"] == 1.0  # the customer ordered there
    assert tiles["liked"] == pytest.approx(0.4)  # else the cuisine affinity
    assert tiles["brand"] == brands["b1"]
    assert tiles["category"] == categories["c1"] == 1.0
