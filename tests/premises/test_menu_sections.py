"""Menu sections: categories by the customer's affinity, then sales; items keep rank order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from palate.catalog.items_index import ItemColumns
from palate.catalog.store import load_catalog
from palate.pipeline.candidates import Candidates
from palate.premises.venue_items import menu_sections


def reference_sections(columns: ItemColumns, ranked: Candidates) -> list[tuple[str, list[str]]]:
    """The definition, one category at a time."""
    codes = columns.category.codes[ranked.positions]
    share = ranked.features["menu_category_share"]
    sold = ranked.features["item_pop"]
    keys = []
    for code in sorted(set(codes.tolist())):
        mine = codes == code
        keys.append((-share[mine].max(), -sold[mine].sum(), code))
    ordered = []
    for _, _, code in sorted(keys):
        ids = columns.item_ids[ranked.positions[codes == code]].tolist()
        ordered.append((columns.category.vocabulary[code], ids))
    return ordered


def test_sections_match_their_definition_on_every_menu(simulated_dir: Path) -> None:
    catalog = load_catalog(simulated_dir / "catalog")
    columns = ItemColumns.from_items(catalog.items.values())
    rng = np.random.default_rng(11)
    checked = 0
    for start, end in list(columns.spans.values())[:40]:
        rows = rng.permutation(np.arange(start, end)).astype(np.int32)  # a ranking
        ranked = Candidates(
            rows,
            {
                "menu_category_share": rng.choice([0.0, 0.2, 0.5], len(rows)),
                "item_pop": rng.poisson(3, len(rows)).astype(np.float64),
            },
        )
        got = [(s.title, s.item_ids) for s in menu_sections(columns, ranked)]
        assert got == reference_sections(columns, ranked)
        checked += len(got) > 1
    assert checked > 10  # menus with several categories were compared
