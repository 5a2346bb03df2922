"""Vectorised id lookups and membership agree with their plain numpy counterparts."""

from __future__ import annotations

import numpy as np
import pytest

from palate.pipeline.id_lookup import SMALL_SET, IdLookup, is_member


@pytest.mark.parametrize("members", [0, 1, 2, SMALL_SET, SMALL_SET + 1, 300])
def test_is_member_equals_isin_for_any_number_of_members(members: int) -> None:
    rng = np.random.default_rng(members)
    values = rng.integers(0, 500, 1_000).astype(np.int32)
    wanted = rng.integers(0, 500, members).astype(np.int32)
    assert np.array_equal(is_member(values, wanted), np.isin(values, wanted))


def test_is_member_compares_strings_too() -> None:
    values = np.array(["i1", "i2", "i3", "i2"])
    assert is_member(values, np.array(["i2", "nope"])).tolist() == [False, True, False, True]


def test_lookup_finds_every_id_and_misses_the_unknown() -> None:
    ids = np.array([f"v{k}" for k in range(0, 2_000, 2)])  # even ids only
    lookup = IdLookup(ids)
    keys = np.array([f"v{k}" for k in range(2_000)])
    expected = np.where(np.arange(2_000) % 2 == 0, np.arange(2_000) // 2, -1)
    assert lookup.positions(keys).tolist() == expected.tolist()
