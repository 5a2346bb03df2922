"""Small LambdaMART models trained on synthetic queries, and candidate sets to score with them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import lightgbm
import numpy as np
import numpy.typing as npt

from palate.pipeline.candidates import Candidates
from palate.ranking.heuristic import HEURISTIC_FEATURES
from palate.ranking.model_store import FileModelStore, ModelVersion

EXTRA_FEATURES = tuple(f"embedding_{k}" for k in range(6))
FEATURES = (*HEURISTIC_FEATURES, *EXTRA_FEATURES)
WINDOW = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))


def candidate_columns(
    rng: np.random.Generator, n: int, features: Sequence[str] = FEATURES
) -> dict[str, npt.NDArray[np.float64]]:
    """Columns with plausible ranges: metres, minutes, stars, counts, unit-scale embeddings."""
    known = {
        "distance_m": rng.uniform(0, 6_000, n),
        "prep_time_min": rng.uniform(5, 40, n),
        "rating": rng.uniform(3.0, 5.0, n),
        "rating_count": rng.integers(0, 500, n).astype(np.float64),
        "venue_orders": rng.poisson(30, n).astype(np.float64),
        "user_venue_orders": (rng.random(n) < 0.1) * rng.integers(1, 6, n).astype(np.float64),
    }
    return {name: known[name] if name in known else rng.normal(size=n) for name in features}


def candidates(rng: np.random.Generator, n: int, features: Sequence[str] = FEATURES) -> Candidates:
    """``n`` candidates at distinct positions carrying ``features``."""
    positions = rng.permutation(10 * n)[:n].astype(np.int32)
    return Candidates(positions, candidate_columns(rng, n, features))


def train_ranker(
    seed: int,
    *,
    features: Sequence[str] = FEATURES,
    trees: int = 40,
    leaves: int = 15,
    queries: int = 120,
    per_query: int = 40,
) -> lightgbm.Booster:
    """LambdaMART on graded labels (3/2/1/0 for ranks 1-2/3-5/6-10/rest of a hidden utility)."""
    rng = np.random.default_rng(seed)
    columns = candidate_columns(rng, queries * per_query, features)
    matrix = np.column_stack([columns[name] for name in features])
    standard = (matrix - matrix.mean(axis=0)) / (matrix.std(axis=0) + 1e-9)
    utility = standard @ rng.normal(size=len(features)) + 0.5 * rng.normal(size=len(matrix))
    ranks = np.argsort(np.argsort(-utility.reshape(queries, per_query), axis=1), axis=1)
    labels = np.select([ranks < 2, ranks < 5, ranks < 10], [3, 2, 1], 0).ravel()
    data = lightgbm.Dataset(
        matrix, labels, group=[per_query] * queries, feature_name=list(features)
    )
    params = {
        "objective": "lambdarank",
        "num_leaves": leaves,
        "learning_rate": 0.1,
        "min_data_in_leaf": 5,
        "num_threads": 1,
        "deterministic": True,
        "seed": seed,
        "verbose": -1,
    }
    return lightgbm.train(params, data, num_boost_round=trees)


def register_ranker(
    store: FileModelStore,
    booster: lightgbm.Booster,
    *,
    name: str = "venue_ranker",
    ndcg: float | None = 0.5,
    precompile: bool = True,
    data_hash: str = "sha256:synthetic",
) -> ModelVersion:
    """Register ``booster`` with synthetic metadata."""
    return store.register(
        name,
        booster.model_to_string(),
        features=booster.feature_name(),
        training_window=WINDOW,
        data_hash=data_hash,
        metrics={} if ndcg is None else {"ndcg@10": ndcg},
        params={"objective": "lambdarank", "num_trees": booster.num_trees()},
        precompile=precompile,
    )
