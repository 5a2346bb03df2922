"""Item rows joined from cached heads are byte for byte what orjson makes of the dicts."""

from __future__ import annotations

import numpy as np
import orjson

from palate.catalog.items_index import ItemsIndex
from palate.domain.catalog import Item
from palate.serving.item_rows import ItemRowsJson, item_row


def catalog(prices: list[float]) -> ItemsIndex:
    names = ["plain", 'quo"ted "score":', "ünïcødé", "back\\slash", "tab\there"]
    items = [
        Item(
            f"{names[k % len(names)]}-{k}",
            f"v{k % 3}",
            f"Item {k}",
            None if k % 7 == 0 else f"cat {k % 4}",
            price,
        )
        for k, price in enumerate(prices)
    ]
    return ItemsIndex.build(items)


def as_dicts(index: ItemsIndex, rows: np.ndarray, scores: np.ndarray, marks: list[bool]) -> bytes:
    columns = index.columns
    dicts = [
        item_row(*row)
        for row in zip(
            columns.item_ids.take(rows).tolist(),
            columns.category.labels_at(rows),
            columns.price.take(rows).tolist(),
            scores.round(6).tolist(),
            marks,
            strict=True,
        )
    ]
    return orjson.dumps({"items": dicts})


def test_rows_match_the_dicts_for_any_rows_scores_and_marks() -> None:
    rng = np.random.default_rng(11)
    index = catalog([float(p) for p in rng.uniform(0.5, 40.0, 60).round(2)])
    encoder = ItemRowsJson()
    for size in (0, 1, 5, 60):
        rows = rng.permutation(60)[:size]
        scores = rng.normal(size=size) * 10.0 ** rng.integers(-8, 4, size)
        if size > 2:
            scores[0], scores[1], scores[2] = np.nan, -0.0, 1e-7  # null, signed zero, tiny
        marks = (rng.random(size) < 0.3).tolist()
        fragment = encoder.fragment(index.columns, rows, scores, marks)
        assert orjson.dumps({"items": fragment}) == as_dicts(index, rows, scores, marks)


def test_a_new_snapshot_is_encoded_afresh() -> None:
    encoder = ItemRowsJson()
    first = catalog([1.0, 2.0, 3.0])
    rows, scores = np.array([2, 0]), np.array([0.5, 0.25])
    encoder.fragment(first.columns, rows, scores, [False, False])  # heads of the first snapshot
    repriced = catalog([1.0, 2.0, 9.5])
    fragment = encoder.fragment(repriced.columns, rows, scores, [False, True])
    assert orjson.dumps({"items": fragment}) == as_dicts(repriced, rows, scores, [False, True])
    assert b'"price":9.5' in orjson.dumps(fragment)
