"""Venue ranking on a real public dataset (UCI restaurant-consumer): leave-one-out per user.

Every method scores all venues for every test user; the venues the user already rated in
training are never candidates (a user rates a restaurant once), optionally neither are
venues farther than ``radius_km`` from the centroid of the user's training venues. The
held-out venue is the target; HR@5/@10, NDCG@10 and MRR follow from
:mod:`palate.training.metrics`. Two learned combinations of the content and co-rating
signals, logistic regression and LightGBM LambdaRank, are trained with cross-validation by
user: each fold's model learns from the other users' held-out venues and ranks the fold's
users.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

from palate.datasets.registry import import_dataset
from palate.training.embeddings import AlsParams, train_venue_embeddings
from palate.training.metrics import (
    hit_matrix,
    hit_rate_at_k,
    mean_defined,
    ndcg_at_k,
    reciprocal_rank,
    top_k,
)
from palate.training.venue_ranker.real_split import (
    FloatArray,
    LeaveOneOut,
    centroid_distance_km,
    cuisine_match,
    item_knn,
    leave_one_out,
    popularity,
    price_gap,
)

METHODS = (
    "random",
    "popularity",
    "distance",
    "price_match",
    "cuisine_match",
    "own_frequency",
    "item_knn",
    "als",
    "logistic",
    "lambdarank",
)
LEARNED_FEATURES = ("popularity", "distance", "price_match", "cuisine_match", "item_knn")
METRICS = ("hr@5", "hr@10", "ndcg@10", "mrr")


@dataclass(frozen=True, slots=True)
class RealEvaluation:
    """Per-method metrics over the test users, with the protocol's parameters."""

    dataset: str
    table: pl.DataFrame  # method, hr@5, hr@10, ndcg@10, mrr, users
    n_users: int
    n_venues: int
    radius_km: float | None
    reachable: float  # share of test users whose target is a candidate at all

    def metric(self, method: str, name: str) -> float:
        """One figure of the table."""
        return float(self.table.filter(pl.col("method") == method)[name][0])

    def to_markdown(self) -> str:
        """The table as Markdown, with the protocol in a header line."""
        where = "all venues" if self.radius_km is None else f"venues within {self.radius_km} km"
        lines = [
            f"{self.dataset}: {self.n_users} test users, {self.n_venues} venues, candidates = "
            f"{where} not rated in training; target reachable for {self.reachable:.1%}",
            "",
            "| method | " + " | ".join(METRICS) + " |",
            "|---|" + "---:|" * len(METRICS),
        ]
        for row in self.table.iter_rows(named=True):
            values = " | ".join(f"{row[m]:.3f}" for m in METRICS)
            lines.append(f"| {row['method']} | {values} |")
        return "\n".join(lines)


def signals(split: LeaveOneOut, seed: int = 0) -> dict[str, FloatArray]:
    """Every method's score matrix (users, venues); higher is better."""
    rng = np.random.default_rng(seed)
    base = {
        "random": rng.random(split.train.shape),
        "popularity": popularity(split),
        "distance": -centroid_distance_km(split),
        "price_match": -price_gap(split),
        "cuisine_match": cuisine_match(split),
        # Training rows of a user are never candidates, so this is zero on every candidate:
        # UCI has one rating per (user, restaurant) and no repeat visits to count.
        "own_frequency": split.train.toarray().astype(np.float64),
        "item_knn": item_knn(split),
        "als": als_scores(split, seed),
    }
    base["logistic"] = learned_scores(split, base, fit=fit_logistic, seed=seed)
    base["lambdarank"] = learned_scores(split, base, fit=fit_lambdarank, seed=seed)
    return base


def als_scores(split: LeaveOneOut, seed: int) -> FloatArray:
    """Implicit ALS on the training events (no time decay: the timestamps are synthetic)."""
    params = AlsParams(factors=16, iterations=15, half_life_days=None, seed=seed)
    model = train_venue_embeddings(split.train_events, params=params)
    ids = split.venues.ids.astype(str)
    return np.vstack([model.scores(str(user), ids) for user in split.users])


def candidate_mask(split: LeaveOneOut, radius_km: float | None) -> np.ndarray:
    """True where a venue is a candidate for the user."""
    mask = ~split.seen
    if radius_km is not None:
        mask &= centroid_distance_km(split) <= radius_km
    return mask


def _feature_tensor(scores: dict[str, FloatArray]) -> np.ndarray:
    return np.stack([scores[name] for name in LEARNED_FEATURES], axis=2)


Fitted = Callable[[np.ndarray], FloatArray]  # (rows, features) -> scores


def learned_scores(
    split: LeaveOneOut,
    scores: dict[str, FloatArray],
    *,
    fit: Callable[[np.ndarray, np.ndarray, np.ndarray, int], Fitted],
    folds: int = 5,
    seed: int = 0,
) -> FloatArray:
    """A model on :data:`LEARNED_FEATURES`, cross-validated by user (no user scores itself).

    ``fit(features, candidate_mask, target, seed)`` gets the training users' tensors.
    """
    features = _feature_tensor(scores)
    mask = candidate_mask(split, None)
    fold = np.random.default_rng(seed).permutation(len(split.users)) % folds
    out = np.zeros(split.train.shape)
    for k in range(folds):
        train = fold != k
        model = fit(features[train], mask[train], split.target[train], seed)
        test = features[fold == k]
        out[fold == k] = model(test.reshape(-1, test.shape[2])).reshape(test.shape[:2])
    return out


def _labels(mask: np.ndarray, target: np.ndarray) -> np.ndarray:
    labels = np.zeros(mask.shape)
    labels[np.arange(len(target)), target] = 1.0
    return labels


def fit_lambdarank(
    features: np.ndarray, mask: np.ndarray, target: np.ndarray, seed: int, trees: int = 30
) -> Fitted:
    """LightGBM LambdaRank, one query per user; small and shallow (about 110 queries)."""
    import lightgbm

    params = {
        "objective": "lambdarank",
        "num_leaves": 7,
        "learning_rate": 0.05,
        "min_data_in_leaf": 20,
        "num_threads": 1,
        "deterministic": True,
        "seed": seed,
        "verbose": -1,
    }
    labels = _labels(mask, target)[mask]
    data = lightgbm.Dataset(features[mask], labels, group=mask.sum(axis=1).tolist())
    booster = lightgbm.train(params, data, num_boost_round=trees)

    def predict(rows: np.ndarray) -> FloatArray:
        return np.asarray(booster.predict(rows, num_threads=1), dtype=np.float64)

    return predict


def fit_logistic(
    features: np.ndarray,
    mask: np.ndarray,
    target: np.ndarray,
    seed: int,  # noqa: ARG001 - deterministic; the signature is shared with LambdaRank
    l2: float = 1.0,
    iterations: int = 25,
) -> Fitted:
    """L2-regularised logistic regression on standardised features (Newton's method)."""
    rows, labels = features[mask], _labels(mask, target)[mask]
    mean, scale = rows.mean(axis=0), rows.std(axis=0) + 1e-9
    design = np.column_stack([(rows - mean) / scale, np.ones(len(rows))])
    weights = np.zeros(design.shape[1])
    penalty = l2 * np.eye(len(weights))
    penalty[-1, -1] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ weights))
        gradient = design.T @ (p - labels) + penalty @ weights
        hessian = (design * (p * (1.0 - p))[:, None]).T @ design + penalty
        weights -= np.linalg.solve(hessian, gradient)

    def predict(rows: np.ndarray) -> FloatArray:
        return np.asarray(((rows - mean) / scale) @ weights[:-1], dtype=np.float64)

    return predict


def score_table(
    split: LeaveOneOut, scores: dict[str, FloatArray], mask: np.ndarray
) -> pl.DataFrame:
    """HR@5, HR@10, NDCG@10 and MRR of each method (non-candidates can never be ranked)."""
    n_users, n_venues = split.train.shape
    relevant = sp.csr_array(
        (np.ones(n_users), (np.arange(n_users), split.target)), shape=(n_users, n_venues)
    )
    rows = []
    for method in METHODS:
        ranked = top_k(np.where(mask, scores[method], -np.inf), n_venues)
        hits = hit_matrix(ranked, relevant)
        rows.append(
            {
                "method": method,
                "hr@5": mean_defined(hit_rate_at_k(hits, 5)),
                "hr@10": mean_defined(hit_rate_at_k(hits, 10)),
                "ndcg@10": mean_defined(ndcg_at_k(hits, np.ones(n_users, np.int64), 10)),
                "mrr": mean_defined(reciprocal_rank(hits)),
                "users": n_users,
            }
        )
    return pl.DataFrame(rows)


def evaluate_real_venues(
    dataset: str,
    source: Path,
    *,
    radius_km: float | None = None,
    seed: int = 0,
    min_venues: int = 3,
) -> RealEvaluation:
    """Import ``dataset`` from ``source`` and run the leave-one-out comparison."""
    imported = import_dataset(dataset, source)
    split = leave_one_out(imported, min_venues=min_venues, seed=seed)
    mask = candidate_mask(split, radius_km)
    table = score_table(split, signals(split, seed), mask)
    reachable = float(mask[np.arange(len(split.users)), split.target].mean())
    return RealEvaluation(
        dataset, table, len(split.users), split.train.shape[1], radius_km, reachable
    )
