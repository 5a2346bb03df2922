"""Lazy feature columns behave exactly like eagerly copied ones under any chain of selections."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from palate.pipeline.candidates import Candidates, FloatArray


def _eager(
    columns: dict[str, FloatArray], selector: npt.NDArray[np.generic] | slice
) -> dict[str, FloatArray]:
    return {name: column[selector] for name, column in columns.items()}


def test_chains_of_masks_orders_slices_and_writes_match_eager_copies() -> None:
    rng = np.random.default_rng(3)
    n = 200
    base = {f"f{k}": rng.normal(size=n) for k in range(6)}
    lazy = Candidates(np.arange(n, dtype=np.int32), dict(base))
    eager = dict(base)
    for step in range(16):
        size = len(lazy)
        kind = step % 4
        selector: npt.NDArray[np.generic] | slice
        if kind == 0:
            selector = rng.random(size) > 0.1
        elif kind == 1:
            selector = rng.permutation(size).astype(np.int32)
        elif kind == 2:
            selector = slice(0, max(1, size - 3))
        else:  # every other row from the second, or row numbers as the platform's intp
            selector = slice(1, None, 2) if step % 8 == 3 else rng.permutation(size)
        lazy, eager = lazy.take(selector), _eager(eager, selector)
        written = rng.normal(size=len(lazy))
        lazy.features[f"w{step}"] = written  # a hydrator writing after a selection
        eager[f"w{step}"] = written
        if step == 5:  # overwrite a base column in a view
            lazy.features["f0"] = np.zeros(len(lazy))
            eager["f0"] = np.zeros(len(lazy))
    assert sorted(lazy.features) == sorted(eager)
    for name, column in eager.items():
        np.testing.assert_array_equal(lazy.features[name], column, err_msg=name)
    assert len(lazy.features) == len(eager)


def test_a_write_after_a_selection_does_not_leak_into_it() -> None:
    first = Candidates(np.arange(3, dtype=np.int32), {"x": np.arange(3.0)})
    first.features["y"] = np.ones(3)
    second = first.take(np.array([2, 1]))
    first.features["y"] = np.zeros(3)  # rewritten in the earlier view afterwards
    first.features["z"] = np.ones(3)
    assert second.features["y"].tolist() == [1.0, 1.0]
    assert "z" not in second.features


def test_a_deleted_column_stays_deleted_through_selections_until_written_again() -> None:
    base = Candidates(np.arange(4, dtype=np.int32), {"x": np.arange(4.0), "y": np.ones(4)})
    view = base.take(np.array([3, 1]))
    del view.features["x"]
    assert "x" not in view.features
    assert sorted(view.features) == ["y"]
    later = view.take(np.array([1]))
    assert "x" not in later.features
    later.features["x"] = np.array([7.0])
    assert later.take(np.array([0])).features["x"].tolist() == [7.0]
    assert base.features["x"].tolist() == [0.0, 1.0, 2.0, 3.0]  # the source is untouched
