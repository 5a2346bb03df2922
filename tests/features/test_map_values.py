"""Looking a map up by integer positions answers what looking it up by name answers."""

from __future__ import annotations

import numpy as np
import pytest

from palate.features.store import MapValues


@pytest.mark.parametrize("seed", range(4))
def test_lookup_by_positions_matches_lookup_by_name(seed: int) -> None:
    rng = np.random.default_rng(seed)
    universe = np.array([f"v{k}" for k in range(300)])
    held = rng.choice(300, 40, replace=False)
    names = np.array([*universe[held], "gone1", "gone2"])  # two fields the catalog no longer has
    values, last = rng.random(len(names)), rng.random(len(names)) * 1e9
    history = MapValues(names, values, last)
    asked = rng.integers(-1, 300, 500)  # candidates by position, -1 unknown to the catalog
    keys = np.array([universe[k] if k >= 0 else "unknown" for k in asked])
    fields = np.array([*held, -1, -1])
    by_position = history.lookup_positions(asked, fields)
    by_name = history.lookup(keys)
    assert by_position[0].tolist() == by_name[0].tolist()
    assert np.array_equal(by_position[1], by_name[1], equal_nan=True)


def test_empty_sides() -> None:
    history = MapValues(np.array(["a"]), np.array([1.0]), np.array([5.0]))
    values, last = history.lookup_positions(np.array([-1, -1]), np.array([-1]))
    assert values.tolist() == [0.0, 0.0]
    assert np.isnan(last).all()
    assert MapValues.empty().lookup_positions(np.array([3]), np.array([], dtype=np.intp))[
        0
    ].tolist() == [0.0]
