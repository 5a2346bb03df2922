"""Importers that turn real public datasets into a Palate catalog and event log.

``import_dataset("instacart", path)`` returns an :class:`ImportedDataset`; each importer's
module docstring states how the dataset's fields map onto markets, venues, items and events.
"""

from __future__ import annotations

from palate.datasets.imported import ImportedDataset
from palate.datasets.registry import IMPORTERS, import_dataset

__all__ = ["IMPORTERS", "ImportedDataset", "import_dataset"]
