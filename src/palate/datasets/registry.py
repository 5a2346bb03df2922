"""Dataset importers by name, for the CLI and for evaluation scripts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from palate.datasets.completejourney import import_completejourney
from palate.datasets.dhrd import import_dhrd
from palate.datasets.imported import ImportedDataset
from palate.datasets.instacart import import_instacart
from palate.datasets.uci_restaurants import import_uci_restaurants

Importer = Callable[[Path], ImportedDataset]

IMPORTERS: dict[str, Importer] = {
    "instacart": import_instacart,
    "completejourney": import_completejourney,
    "uci-restaurants": import_uci_restaurants,
    "dhrd": import_dhrd,
}


def import_dataset(name: str, source: Path) -> ImportedDataset:
    """Import the public dataset ``name`` from the directory ``source``.

    >>> import_dataset("x", Path("."))
    Traceback (most recent call last):
    ...
    ValueError: unknown dataset 'x'; known: completejourney, dhrd, instacart, uci-restaurants
    """
    importer = IMPORTERS.get(name)
    if importer is None:
        known = ", ".join(sorted(IMPORTERS))
        raise ValueError(f"unknown dataset {name!r}; known: {known}")
    if not source.is_dir():
        raise ValueError(f"dataset directory not found: {source}")
    return importer(source)
