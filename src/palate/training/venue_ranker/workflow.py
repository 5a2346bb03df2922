"""The venue ranker's offline jobs on a data directory: build (or reuse) the table, train, evaluate.

Every registered version carries the venue embeddings its ``emb_score`` feature reads at
serving (``<version>/embeddings/``), fitted on the log as of training: serving's factors are
as fresh as the last ``palate train``, where the training rows saw a daily refit. The customer
× item embeddings of the in-venue item affinity are fitted on the same events and shipped in
the same folder, so one promotion (or rollback) swaps every factorisation together.

The point-in-time table is the expensive part (a full replay of the event log), so it is
cached in ``<data>/training/`` under a key made of the log's size, its last event and the
replay options; ``palate train`` and ``palate evaluate`` on the same log share it.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from palate.catalog.store import load_catalog
from palate.events.log import EventLog
from palate.premises.discovery import DISCOVERY_FEATURES
from palate.ranking.embedding_features import EMBEDDINGS_DIR
from palate.ranking.heuristic import HeuristicWeights
from palate.ranking.learned import load_model
from palate.ranking.model_store import ModelStore, ModelVersion
from palate.training.embeddings import fit_item_factors
from palate.training.venue_ranker.dataset import (
    DEFAULT_STEP,
    TrainingTable,
    build_training_table,
    fit_venue_factors,
)
from palate.training.venue_ranker.evaluate import Evaluation, Oracle, evaluate_venue_ranking
from palate.training.venue_ranker.train import (
    RankerParams,
    TrainResult,
    temporal_split,
    train_and_register,
)

CACHE_DIR = "training"


@dataclass(frozen=True, slots=True)
class Workspace:
    """A data directory's catalog and events, and the options of the replay."""

    data_dir: Path
    step: timedelta = DEFAULT_STEP
    sample: float = 1.0
    max_requests: int | None = None

    def events(self) -> pa.Table:
        """The whole event log."""
        return EventLog(self.data_dir / "events").read()

    def table(self, events: pa.Table | None = None) -> TrainingTable:
        """The point-in-time training table, from the cache when the log has not changed."""
        events = self.events() if events is None else events
        path = self.data_dir / CACHE_DIR / f"venue_ranker-{self._key(events)}.parquet"
        if path.exists():
            return TrainingTable(pl.read_parquet(path), DISCOVERY_FEATURES, 0.0)
        catalog = load_catalog(self.data_dir / "catalog")
        table = build_training_table(
            catalog, events, step=self.step, sample=self.sample, max_requests=self.max_requests
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(".tmp")
        table.frame.write_parquet(staging)
        staging.replace(path)
        return table

    def _key(self, events: pa.Table) -> str:
        last = events.column("event_id")[-1].as_py() if events.num_rows else ""
        document = {
            "rows": events.num_rows,
            "last": last,
            "step_s": self.step.total_seconds(),
            "sample": self.sample,
            "max_requests": self.max_requests,
            "features": list(DISCOVERY_FEATURES),
        }
        return hashlib.sha256(json.dumps(document).encode()).hexdigest()[:12]


def train(
    workspace: Workspace,
    store: ModelStore,
    *,
    name: str,
    params: RankerParams | None = None,
    precompile: bool = True,
) -> tuple[TrainResult, TrainingTable]:
    """Build or reuse the table, train, register with embeddings; the result and the table."""
    events = workspace.events()
    table = workspace.table(events)
    with embeddings_dir(events, None) as extra:
        result = train_and_register(
            table, store, name=name, params=params, precompile=precompile, extra_dirs=extra
        )
    return result, table


@contextmanager
def embeddings_dir(events: pa.Table, until: datetime | None) -> Iterator[dict[str, Path]]:
    """A temporary ``{EMBEDDINGS_DIR: directory}`` with the venue and item embeddings of the
    events before ``until`` (all events when ``None``); empty when there is no venue feedback.
    """
    if until is not None:
        events = events.filter(
            pc.less(events.column("ts"), pa.scalar(until, events.column("ts").type))
        )
    if events.num_rows == 0:
        yield {}
        return
    as_of = events.column("ts")[-1].as_py()
    factors = fit_venue_factors(events, as_of)
    with tempfile.TemporaryDirectory(prefix="palate-embeddings-") as scratch:
        if factors is None:
            yield {}
            return
        factors.save(Path(scratch))
        items = fit_item_factors(events, as_of)
        if items is not None:
            items.save(Path(scratch))
        yield {EMBEDDINGS_DIR: Path(scratch)}


def held_out_version(store: ModelStore, name: str, test_start: datetime) -> ModelVersion | None:
    """The newest registered version that saw nothing from ``test_start`` on."""
    fitting = [v for v in store.list(name) if v.training_end < test_start]
    return fitting[-1] if fitting else None


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    """An evaluation with how long its parts took."""

    evaluation: Evaluation
    table_seconds: float
    seconds: float
    trained: TrainResult | None


def evaluate(
    workspace: Workspace,
    store: ModelStore,
    *,
    name: str,
    weights: HeuristicWeights | None = None,
    params: RankerParams | None = None,
    oracle: Oracle | None = None,
) -> EvaluationRun:
    """Evaluate the newest held-out model (training one first if there is none)."""
    started = time.perf_counter()
    events = workspace.events()
    table = workspace.table(events)
    table_seconds = time.perf_counter() - started
    test_start = temporal_split(table.frame).test_start
    version = held_out_version(store, name, test_start)
    trained = None
    if version is None:
        with embeddings_dir(events, test_start) as extra:
            trained = train_and_register(
                table, store, name=name, params=params, precompile=False, extra_dirs=extra
            )
        version = trained.version
    evaluation = evaluate_venue_ranking(
        table,
        events,
        load_model(version, compiled=False),
        test_start=test_start,
        weights=weights,
        oracle=oracle,
    )
    return EvaluationRun(evaluation, table_seconds, time.perf_counter() - started, trained)
