"""Everything a serving process holds in memory, and how it is loaded from the data directory."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from palate.catalog.changelog import CatalogChangelog
from palate.catalog.editor import CatalogEditor
from palate.catalog.index import VenueIndex
from palate.catalog.store import load_catalog
from palate.domain.catalog import Catalog
from palate.domain.requests import RankingRequest
from palate.events.log import EventLog
from palate.features.history import OrderHistory
from palate.pipeline import Pipeline
from palate.pipeline.candidates import IntArray
from palate.premises.discovery import discovery_pipeline
from palate.ranking.heuristic import HeuristicWeights
from palate.settings import HeuristicSettings, Settings

CATALOG_DIR = "catalog"
EVENTS_DIR = "events"
CATALOG_CHANGES = "catalog-changes.jsonl"


@dataclass(slots=True)
class ServingState:
    """The catalog, its serving index, the behavioural features and the premise pipelines."""

    catalog: Catalog
    index: VenueIndex
    history: OrderHistory
    editor: CatalogEditor
    changelog: CatalogChangelog
    discovery: Pipeline[RankingRequest]


def weights_from(settings: HeuristicSettings) -> HeuristicWeights:
    """The heuristic ranker's weights from the ``[heuristic]`` settings."""
    return HeuristicWeights(
        distance=settings.distance_weight,
        rating=settings.rating_weight,
        popularity=settings.popularity_weight,
        history=settings.history_weight,
        rating_prior_mean=settings.rating_prior_mean,
        rating_prior_count=settings.rating_prior_count,
        km_per_min=settings.eta_km_per_min,
    )


def venue_positions(index: VenueIndex, venue_ids: pa.Array | pa.ChunkedArray) -> IntArray:
    """Index positions of ``venue_ids``; -1 for ids the index does not know."""
    known = pl.DataFrame(
        {"venue_id": index.venue_ids, "pos": np.arange(len(index.venue_ids), dtype=np.int32)}
    )
    asked = pl.DataFrame({"venue_id": pl.Series(venue_ids).cast(pl.Utf8)})
    joined = asked.join(known, on="venue_id", how="left", maintain_order="left")
    positions: IntArray = joined["pos"].fill_null(-1).to_numpy().astype(np.int32)
    return positions


def build_state(
    catalog: Catalog, orders: pa.Table, settings: Settings, data_dir: Path | None = None
) -> ServingState:
    """Index the catalog and count the orders (columns ``user_id`` and ``venue_id``).

    With a ``data_dir`` catalog changes are logged there and checkpointed into its catalog.
    """
    index = VenueIndex.build(catalog)
    history = OrderHistory.from_orders(
        orders.column("user_id").to_numpy(zero_copy_only=False),
        venue_positions(index, orders.column("venue_id")),
        n_venues=len(index.venue_ids),
    )
    editor = CatalogEditor(catalog, index, None if data_dir is None else data_dir / CATALOG_DIR)
    changes_path = (data_dir or Path(tempfile.mkdtemp(prefix="palate-"))) / CATALOG_CHANGES
    pipeline = discovery_pipeline(index, history, editor, weights_from(settings.heuristic))
    return ServingState(
        catalog=catalog,
        index=index,
        history=history,
        editor=editor,
        changelog=CatalogChangelog(changes_path),
        discovery=pipeline,
    )


def load_state(settings: Settings, data_dir: Path | None = None) -> ServingState:
    """Load the catalog and the event log's orders from the data directory."""
    root = data_dir or settings.data.dir
    catalog = load_catalog(root / CATALOG_DIR)
    orders = EventLog(root / EVENTS_DIR).read(types=["order"], columns=["user_id", "venue_id"])
    state = build_state(catalog, orders, settings, data_dir=root)
    replay_catalog_changes(state)
    return state


def replay_catalog_changes(state: ServingState) -> None:
    """Re-apply the changes logged since the last checkpoint, then checkpoint them."""
    from palate.serving.catalog_api import apply_change

    replayed = 0
    for op, body in state.changelog.replay():
        apply_change(state.editor, op, body)
        replayed += 1
    if replayed:
        state.editor.checkpoint()
        state.changelog.truncate()
