"""The public API is explicit: ``palate.__all__`` is sorted and lists exactly the public names."""

from __future__ import annotations

import palate


def test_all_is_sorted_and_complete() -> None:
    public = {n for n in vars(palate) if not n.startswith("_") and n != "annotations"}
    public |= {"__version__"}
    modules = {name for name in public if type(getattr(palate, name)).__name__ == "module"}
    assert sorted(palate.__all__) == palate.__all__
    assert set(palate.__all__) == public - modules


def test_every_exported_name_resolves() -> None:
    for name in palate.__all__:
        assert getattr(palate, name) is not None
