"""LambdaMART venue ranker: temporal split, LightGBM ``lambdarank``, registration.

Requests are the query groups and the graded labels (order 3 > add to cart 2 > click 1 >
shown 0) the relevance. Days are split in time order: the first days train, the next ones
decide early stopping, the last ones are the held-out test on which the registered metrics
are measured, so a model is never scored on a day it (or its early stopping) has seen.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from palate.ranking.model_store import ModelStore, ModelVersion
from palate.training.venue_ranker.dataset import TrainingTable
from palate.training.venue_ranker.ranking_metrics import graded_ndcg, grouped

DEFAULT_MODEL_NAME = "venue_ranker"


@dataclass(frozen=True, slots=True)
class RankerParams:
    """LightGBM settings; the defaults keep a model small enough to serve in microseconds."""

    num_trees: int = 300
    num_leaves: int = 31
    learning_rate: float = 0.05
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.9
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    early_stopping_rounds: int = 30
    num_threads: int = 2
    seed: int = 7

    def lightgbm(self) -> dict[str, Any]:
        """The parameters as LightGBM names them (deterministic, quiet)."""
        return {
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": [5, 10],
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }


@dataclass(frozen=True, slots=True)
class TemporalSplit:
    """Rows of a training table by period: train, validation (early stopping), test."""

    train: pl.DataFrame
    valid: pl.DataFrame
    test: pl.DataFrame
    test_start: datetime

    @property
    def window(self) -> tuple[datetime, datetime]:
        """First and last impression time the model learnt from (train and validation)."""
        seen = pl.concat([self.train, self.valid])
        return _utc(seen["ts"].min()), _utc(seen["ts"].max())


@dataclass(frozen=True, slots=True)
class TrainResult:
    """A trained and registered model with what it was measured at."""

    version: ModelVersion
    metrics: dict[str, float]
    params: dict[str, Any]
    n_train_requests: int
    seconds: float


def temporal_split(
    frame: pl.DataFrame, *, test_share: float = 0.2, valid_share: float = 0.1
) -> TemporalSplit:
    """Split by whole days: the last ``test_share`` of days test, ``valid_share`` before it.

    >>> from datetime import datetime, UTC
    >>> days = [datetime(2026, 1, d, 12, tzinfo=UTC) for d in range(1, 11)]
    >>> split = temporal_split(pl.DataFrame({"ts": days}))
    >>> split.train.height, split.valid.height, split.test.height
    (7, 1, 2)
    """
    day = (pl.col("ts").dt.epoch("s") // 86_400).alias("_day")
    days = frame.select(day.unique().sort())["_day"].to_numpy()
    n_days = len(days)
    n_test = max(1, round(n_days * test_share))
    n_valid = max(1, round(n_days * valid_share))
    if n_days < n_test + n_valid + 1:
        raise ValueError(f"{n_days} days are too few for a train/validation/test split")
    test_from, valid_from = days[n_days - n_test], days[n_days - n_test - n_valid]
    tagged = frame.with_columns(day)

    def part(lo: int, hi: int) -> pl.DataFrame:
        return tagged.filter((pl.col("_day") >= lo) & (pl.col("_day") < hi)).drop("_day")

    return TemporalSplit(
        train=part(int(days[0]), int(valid_from)),
        valid=part(int(valid_from), int(test_from)),
        test=part(int(test_from), int(days[-1]) + 1),
        test_start=datetime.fromtimestamp(int(test_from) * 86_400, UTC),
    )


def engaged(frame: pl.DataFrame) -> pl.DataFrame:
    """Only the requests where some venue was engaged with (the others carry no signal)."""
    return frame.filter(pl.col("label").max().over("request_id") > 0)


def group_sizes(frame: pl.DataFrame) -> npt.NDArray[np.int64]:
    """Rows per request in order of appearance (requests must be contiguous)."""
    sizes = frame.group_by("request_id", maintain_order=True).len()["len"]
    return sizes.to_numpy().astype(np.int64)


def fit(split: TemporalSplit, features: tuple[str, ...], params: RankerParams) -> Any:
    """Train LambdaMART on the split's train rows, early-stopping on its validation rows."""
    import lightgbm

    train, valid = engaged(split.train), engaged(split.valid)
    names = list(features)
    train_set = lightgbm.Dataset(
        train.select(names).to_numpy(),
        label=train["label"].to_numpy(),
        group=group_sizes(train),
        feature_name=names,
        free_raw_data=True,
    )
    valid_set = lightgbm.Dataset(
        valid.select(names).to_numpy(),
        label=valid["label"].to_numpy(),
        group=group_sizes(valid),
        reference=train_set,
    )
    return lightgbm.train(
        params.lightgbm(),
        train_set,
        num_boost_round=params.num_trees,
        valid_sets=[valid_set],
        callbacks=[lightgbm.early_stopping(params.early_stopping_rounds, verbose=False)],
    )


def test_metrics(booster: Any, test: pl.DataFrame, features: tuple[str, ...]) -> dict[str, float]:
    """NDCG@5/10 (graded) of the booster on the engaged test requests."""
    rows = engaged(test)
    scores = np.asarray(booster.predict(rows.select(list(features)).to_numpy(), num_threads=1))
    grid = grouped(rows, scores)
    return {
        "ndcg@5": float(np.nanmean(graded_ndcg(grid.scores, grid.labels, 5))),
        "ndcg@10": float(np.nanmean(graded_ndcg(grid.scores, grid.labels, 10))),
        "test_requests": float(grid.scores.shape[0]),
    }


def train_and_register(
    table: TrainingTable,
    store: ModelStore,
    *,
    name: str = DEFAULT_MODEL_NAME,
    params: RankerParams | None = None,
    precompile: bool = True,
    extra_dirs: Mapping[str, Path] | None = None,
) -> TrainResult:
    """Split in time, train, measure on the test days and register (not promote);
    ``extra_dirs`` (e.g. the embeddings behind ``emb_score``) are stored with the version."""
    started = time.perf_counter()
    params = params or RankerParams()
    split = temporal_split(table.frame)
    booster = fit(split, table.features, params)
    metrics = test_metrics(booster, split.test, table.features)
    metrics["best_iteration"] = float(booster.best_iteration or booster.current_iteration())
    recorded = {**asdict(params), "test_start": split.test_start.isoformat()}
    version = store.register(
        name,
        booster.model_to_string(num_iteration=booster.best_iteration or None),
        features=table.features,
        training_window=split.window,
        data_hash=table.data_hash(),
        metrics=metrics,
        params=recorded,
        parent=_current_version(store, name),
        precompile=precompile,
        extra_dirs=extra_dirs,
    )
    return TrainResult(
        version=version,
        metrics=metrics,
        params=recorded,
        n_train_requests=int(split.train["request_id"].n_unique()),
        seconds=time.perf_counter() - started,
    )


def _current_version(store: ModelStore, name: str) -> str | None:
    current = store.current(name)
    return None if current is None else current.version


def _utc(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__ = [
    "DEFAULT_MODEL_NAME",
    "RankerParams",
    "TemporalSplit",
    "TrainResult",
    "engaged",
    "fit",
    "group_sizes",
    "temporal_split",
    "train_and_register",
]
