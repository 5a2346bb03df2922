"""Import durations recorded by the session fixtures, printed by one test."""

from __future__ import annotations

import time
from collections.abc import Callable

from palate.datasets import ImportedDataset

IMPORT_SECONDS: dict[str, float] = {}


def timed_import(name: str, run: Callable[[], ImportedDataset]) -> ImportedDataset:
    """Run an import and remember how long it took."""
    start = time.perf_counter()
    dataset = run()
    IMPORT_SECONDS[name] = time.perf_counter() - start
    return dataset
