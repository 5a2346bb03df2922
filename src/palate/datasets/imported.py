"""The result of importing a public dataset: a catalog and an event log."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from palate.domain import Catalog


@dataclass(frozen=True, slots=True)
class ImportedDataset:
    """A catalog plus events conforming to ``palate.events.schema.EVENT_SCHEMA``.

    Events are sorted by ``ts`` (then ``event_id``), timestamps are UTC, and every order line
    refers to an item of the catalog sold by the order's venue.
    """

    catalog: Catalog
    events: pa.Table
