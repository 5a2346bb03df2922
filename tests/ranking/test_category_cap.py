"""The category cap keeps, in scored order, each item whose category is still under its cap."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from palate.pipeline.candidates import Candidates
from palate.ranking.item_scorers import CategoryCap


def greedy(codes: list[int], cap: int, limit: int) -> list[int]:
    """The definition, one item at a time."""
    seen: dict[int, int] = {}
    kept: list[int] = []
    for row, code in enumerate(codes):
        if seen.get(code, 0) < cap and len(kept) < limit:
            seen[code] = seen.get(code, 0) + 1
            kept.append(row)
    return kept


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cap", [1, 2, 3])
def test_the_cap_keeps_what_the_greedy_definition_keeps(seed: int, cap: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    catalog_codes = rng.integers(0, 300, 500).astype(np.int32)  # a catalog-wide vocabulary
    positions = rng.choice(500, n, replace=False).astype(np.int32)  # the scored order
    limit = int(rng.integers(1, 12))
    query = SimpleNamespace(columns=SimpleNamespace(category=SimpleNamespace(codes=catalog_codes)))
    query.limit = limit
    kept = CategoryCap(cap).select(query, Candidates(positions))  # type: ignore[arg-type]
    expected = greedy(catalog_codes[positions].tolist(), cap, limit)
    assert kept.positions.tolist() == positions[expected].tolist()


def test_no_candidates() -> None:
    query = SimpleNamespace(columns=SimpleNamespace(category=SimpleNamespace(codes=np.zeros(3))))
    query.limit = 5
    assert len(CategoryCap(1).select(query, Candidates.empty())) == 0  # type: ignore[arg-type]
