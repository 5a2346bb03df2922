"""A LightGBM re-ranker over next-basket candidates (see :mod:`.features`).

Training examples are the candidates of the train users, labelled 1 when the item is in the
user's target basket. To get more of them without touching validation or test targets, the
same protocol is replayed ``earlier_views`` baskets back in time (:func:`.protocol.earlier`):
each view recomputes every statistic from the baskets before its own targets. The number of
boosting rounds is tuned by early stopping on NDCG@10 of the validation users, the only
use of their targets. At prediction time items outside the candidates rank after them, by
popularity, so every list is full; the repeat-only variant ranks only the user's own items.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from palate.training.metrics import FloatArray, IntArray
from palate.training.next_basket.baselines import popularity_fraction
from palate.training.next_basket.features import (
    FEATURES,
    REQUEST_TIME_FEATURES,
    SplitStats,
    feature_frame,
    fit_stats,
)
from palate.training.next_basket.models import TifuParams
from palate.training.next_basket.protocol import BasketSplit, earlier

_BELOW_CANDIDATES = -1e6  # raw LightGBM margins never get near this


@dataclass(frozen=True, slots=True)
class RerankerParams:
    """Candidate, training-data and LightGBM settings."""

    explore: int = 20
    earlier_views: int = 4
    # Training keeps each user's best candidates by TIFU score: the rest rarely reach a top
    # 20 and would only slow LightGBM down.
    train_candidates: int | None = 100
    learning_rate: float = 0.1
    num_leaves: int = 31
    min_data_in_leaf: int = 50
    max_rounds: int = 300
    early_stopping_rounds: int = 30
    stopping_metric: str = "binary_logloss"
    # One thread: on a shared two-core machine OpenMP spinning made two threads 5x slower.
    num_threads: int = 1
    seed: int = 0
    tifu: TifuParams = field(default_factory=TifuParams)
    # The time of the basket being predicted is known when serving (it is "now"), but the
    # paper's methods ignore it; False drops the features that use it.
    request_time: bool = True

    @property
    def features(self) -> tuple[str, ...]:
        """Feature columns the model uses."""
        if self.request_time:
            return FEATURES
        return tuple(name for name in FEATURES if name not in REQUEST_TIME_FEATURES)

    def lightgbm(self) -> dict[str, object]:
        """The LightGBM parameter dictionary."""
        return {
            "objective": "binary",
            "metric": self.stopping_metric,
            "eval_at": [10],
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "max_bin": 63,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbose": -1,
        }


@dataclass(frozen=True)
class Reranker:
    """A trained re-ranker bound to the split whose users it scores."""

    booster: lgb.Booster
    stats: SplitStats
    params: RerankerParams
    fill: FloatArray
    repeat_only: bool = False

    def scores(self, users: IntArray) -> FloatArray:
        """Model scores on the candidates; other items below them by popularity."""
        frame = feature_frame(self.stats, users, self.params.explore)
        if self.repeat_only:
            frame = frame.filter(pl.col("repeat"))
        matrix = frame.select(self.params.features).cast(pl.Float64).to_numpy()
        predicted = self.booster.predict(matrix)
        row_of = np.full(self.stats.split.n_users, -1, dtype=np.int64)
        row_of[users] = np.arange(len(users))
        rows = row_of[frame.get_column("user").to_numpy()]
        background = -np.inf if self.repeat_only else _BELOW_CANDIDATES
        out = np.tile(background + self.fill, (len(users), 1))
        out[rows, frame.get_column("item").to_numpy()] = np.asarray(predicted, dtype=np.float64)
        return out

    def only_repeats(self) -> Reranker:
        """The same model ranking only items the user bought before."""
        return dataclasses.replace(self, repeat_only=True)

    @property
    def rounds(self) -> int:
        """Boosting rounds kept after early stopping."""
        return int(self.booster.num_trees())


def labelled(split: BasketSplit, stats: SplitStats, users: IntArray, explore: int) -> pl.DataFrame:
    """Candidates of ``users`` with their features and ``label`` (in the target basket)."""
    targets = split.lines.filter(pl.col("target")).select("user", "item", label=pl.lit(1.0))
    return (
        feature_frame(stats, users, explore)
        .join(targets, on=["user", "item"], how="left")
        .with_columns(pl.col("label").fill_null(0.0))
        .sort("user", "item")
    )


def _dataset(
    frame: pl.DataFrame, features: Sequence[str], reference: lgb.Dataset | None = None
) -> lgb.Dataset:
    groups = frame.group_by("user", maintain_order=True).len().get_column("len").to_numpy()
    return lgb.Dataset(
        frame.select(features).cast(pl.Float64).to_numpy(),
        frame.get_column("label").to_numpy(),
        group=groups,
        reference=reference,
        free_raw_data=True,
    )


def training_frame(split: BasketSplit, params: RerankerParams) -> pl.DataFrame:
    """Labelled candidates of the train users in the split and its earlier views."""
    frames = []
    for back in range(params.earlier_views + 1):
        view = earlier(split, back)
        stats = fit_stats(view, params.tifu)
        frame = labelled(view, stats, view.users_of("train"), params.explore)
        if params.train_candidates is not None:
            best = pl.col("tifu").rank("ordinal", descending=True).over("user")
            frame = frame.filter(best <= params.train_candidates)
        # Distinct query ids per view: the same user is a different query in each.
        frames.append(frame.with_columns(user=pl.col("user") + back * split.n_users))
    return pl.concat(frames).sort("user", "item")


def fit_reranker(split: BasketSplit, params: RerankerParams | None = None) -> Reranker:
    """Train on the train users, early-stop on the validation users."""
    params = params or RerankerParams()
    stats = fit_stats(split, params.tifu)
    train = _dataset(training_frame(split, params), params.features)
    valid_frame = labelled(split, stats, split.users_of("validation"), params.explore)
    callbacks: list[Callable[..., Any]] = []
    valid_sets = []
    if valid_frame.height and valid_frame.get_column("label").sum() > 0:
        valid_sets = [_dataset(valid_frame, params.features, reference=train)]
        callbacks = [lgb.early_stopping(params.early_stopping_rounds, verbose=False)]
    booster = lgb.train(
        params.lightgbm(),
        train,
        num_boost_round=params.max_rounds,
        valid_sets=valid_sets,
        callbacks=callbacks,
    )
    if valid_sets:
        best = booster.model_to_string(num_iteration=booster.best_iteration)
        booster = lgb.Booster(model_str=best)
    return Reranker(booster, stats, params, popularity_fraction(stats.popularity))
