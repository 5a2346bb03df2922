"""Candidates and features for the learned next-basket re-ranker.

Candidates of a user: every item of their history (the repeat candidates) plus the
``explore`` best items by each of three sources they never bought: their TIFU-KNN
neighbours, co-purchase with their history, and global popularity. Features come from
history baskets only (never from targets), so that the same code serves the train users
(whose targets are the labels) and the users being evaluated:

* user × item: baskets holding the item, their share, baskets and days since the last one,
  mean gap between purchases in baskets and in days and how overdue the item is by each,
  exponentially decayed counts, TIFU own and neighbour scores, co-purchase with the last
  basket and with the whole (decayed) history;
* item: popularity, buyers, the share of buyers who bought it again;
* user: history length, mean basket size, distinct items, the share of repeats in their
  baskets, mean gap between baskets in days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from palate.training.metrics import FloatArray, IntArray, top_k
from palate.training.next_basket.models import TifuParams, neighbour_mean, tifu_vectors
from palate.training.next_basket.protocol import BasketSplit
from palate.training.next_basket.scoring import BLOCK_CELLS, dense_rows, user_item_matrix

DECAYS = (0.5, 0.8, 0.95)


@dataclass(frozen=True)
class SplitStats:
    """Everything fitted once per split from history baskets; features look things up here."""

    split: BasketSplit
    tifu: TifuParams
    vectors: sp.csr_array  # TIFU vectors, users × items
    conditional: sp.csr_array  # P(column item | row item) within a basket, items × items
    last_basket: sp.csr_array  # users × items, items of the last history basket
    popularity: FloatArray
    pairs: pl.DataFrame  # user × item history statistics
    items: pl.DataFrame
    users: pl.DataFrame


def fit_stats(split: BasketSplit, tifu: TifuParams) -> SplitStats:
    """History statistics of every user and item of the split."""
    history = split.history().with_columns(
        n_history=pl.col("basket").max().over("user") + 1,
        last_day=pl.col("day").max().over("user"),
    )
    last = history.filter(pl.col("basket") == pl.col("n_history") - 1)
    pairs = _pair_stats(history)
    return SplitStats(
        split=split,
        tifu=tifu,
        vectors=tifu_vectors(split, tifu),
        conditional=_conditional(history, split.n_items),
        last_basket=user_item_matrix(last, pl.lit(1.0), split.n_users, split.n_items),
        popularity=_history_popularity(history, split.n_items),
        pairs=pairs,
        items=_item_stats(pairs, split.n_users),
        users=_user_stats(history, split),
    )


def _history_popularity(history: pl.DataFrame, n_items: int) -> FloatArray:
    """History baskets holding each item: unlike the baselines' popularity it leaves out the
    train users' targets, which are the labels here."""
    counts = history.group_by("item").len()
    out = np.zeros(n_items, dtype=np.float64)
    out[counts.get_column("item").to_numpy()] = counts.get_column("len").to_numpy()
    return out


def _conditional(history: pl.DataFrame, n_items: int) -> sp.csr_array:
    baskets = history.select(row=pl.struct("user", "basket").rank("dense") - 1, item="item")
    rows = baskets.get_column("row").to_numpy()
    n_rows = int(rows.max()) + 1 if len(rows) else 0
    matrix = sp.csr_array(
        (np.ones(len(rows)), (rows, baskets.get_column("item").to_numpy())),
        shape=(n_rows, n_items),
    )
    together = sp.csr_array(matrix.T @ matrix)
    counts = together.diagonal()
    together.setdiag(0)
    together.eliminate_zeros()
    inverse = sp.diags_array(1.0 / np.maximum(counts, 1.0))
    return sp.csr_array(inverse @ together)


def _pair_stats(history: pl.DataFrame) -> pl.DataFrame:
    since = pl.col("n_history") - 1 - pl.col("basket")
    decayed = [pl.lit(r).pow(since).sum().alias(f"decayed_{r}") for r in DECAYS]
    stats = history.group_by("user", "item").agg(
        *decayed,
        count=pl.len(),
        first=pl.col("basket").min(),
        last=pl.col("basket").max(),
        first_day=pl.col("day").min(),
        last_day=pl.col("day").max(),
        n_history=pl.col("n_history").first(),
        user_last_day=pl.col("last_day").first(),
    )
    gaps = (pl.col("count") - 1).cast(pl.Float64)
    return stats.with_columns(
        share=pl.col("count") / pl.col("n_history"),
        baskets_since=pl.col("n_history") - pl.col("last"),
        days_since=pl.col("user_last_day") - pl.col("last_day"),
        mean_gap=pl.when(gaps > 0).then((pl.col("last") - pl.col("first")) / gaps),
        mean_gap_days=pl.when(gaps > 0).then((pl.col("last_day") - pl.col("first_day")) / gaps),
        first_since=(pl.col("n_history") - pl.col("first")) / pl.col("n_history"),
    ).select(
        "user",
        "item",
        "count",
        "share",
        "baskets_since",
        "days_since",
        "mean_gap",
        "mean_gap_days",
        "first_since",
        *[f"decayed_{r}" for r in DECAYS],
        overdue=pl.col("baskets_since") / pl.col("mean_gap"),
    )


def _item_stats(pairs: pl.DataFrame, n_users: int) -> pl.DataFrame:
    return pairs.group_by("item").agg(
        item_buyers=pl.len() / n_users,
        item_rebuy=(pl.col("count") >= 2).mean(),
        item_mean_share=pl.col("share").mean(),
    )


def _user_stats(history: pl.DataFrame, split: BasketSplit) -> pl.DataFrame:
    seen_before = pl.col("basket") > pl.col("basket").min().over("user", "item")
    per_user = history.group_by("user").agg(
        user_baskets=pl.col("n_history").first(),
        user_basket_size=pl.len() / pl.col("n_history").first(),
        user_items=pl.col("item").n_unique(),
        user_repeat=seen_before.filter(pl.col("basket") > 0).mean(),
        user_gap_days=(pl.col("day").max() - pl.col("day").min())
        / (pl.col("n_history").first() - 1).clip(lower_bound=1),
        user_last_day=pl.col("day").max(),
    )
    return per_user.join(split.users.select("user", "target_day"), on="user").select(
        pl.exclude("user_last_day", "target_day"),
        days_to_target=pl.col("target_day") - pl.col("user_last_day"),
    )


def candidates(stats: SplitStats, users: IntArray, explore: int) -> pl.DataFrame:
    """Candidate (user, item) pairs with the features that need dense user rows."""
    block = max(1, BLOCK_CELLS // max(stats.split.n_items, 1) // 4)
    frames = [
        _candidate_block(stats, users[start : start + block], explore)
        for start in range(0, len(users), block)
    ]
    return pl.concat(frames) if frames else pl.DataFrame()


def _candidate_block(stats: SplitStats, users: IntArray, explore: int) -> pl.DataFrame:
    own = dense_rows(stats.vectors, users)
    others = neighbour_mean(
        stats.vectors, users, stats.split.users_of("train"), stats.tifu.neighbours
    )
    history_cooc = np.asarray((stats.vectors[users] @ stats.conditional).toarray())
    last_cooc = np.asarray((stats.last_basket[users] @ stats.conditional).toarray())
    picked = own > 0
    unseen = np.where(picked, -np.inf, 0.0)
    pop = np.broadcast_to(stats.popularity, own.shape)
    for source in (others, history_cooc, pop):
        best = top_k(source + unseen, explore)
        rows = np.repeat(np.arange(len(users)), best.shape[1])
        valid = best.ravel() >= 0
        picked[rows[valid], best.ravel()[valid]] = True
    rows, cols = np.nonzero(picked)
    alpha = stats.tifu.alpha
    return pl.DataFrame(
        {
            "user": users[rows],
            "item": cols.astype(np.int64),
            "tifu_own": own[rows, cols],
            "tifu_neighbours": others[rows, cols],
            "tifu": alpha * own[rows, cols] + (1 - alpha) * others[rows, cols],
            "cooc_history": history_cooc[rows, cols],
            "cooc_last": last_cooc[rows, cols],
            "popularity": stats.popularity[cols],
        }
    )


def feature_frame(stats: SplitStats, users: IntArray, explore: int) -> pl.DataFrame:
    """Candidates of ``users`` with every feature; ``repeat`` marks items of their history."""
    frame = (
        candidates(stats, users, explore)
        .join(stats.pairs, on=["user", "item"], how="left")
        .join(stats.items, on="item", how="left")
        .join(stats.users, on="user", how="left")
        .with_columns(
            repeat=pl.col("count").is_not_null(),
            days_since_target=pl.col("days_since") + pl.col("days_to_target"),
        )
        .with_columns(
            pl.col("count", "share").fill_null(0),
            overdue_days=pl.col("days_since_target") / pl.col("mean_gap_days"),
        )
    )
    return frame.sort("user", "item")


FEATURES = (
    "tifu_own",
    "tifu_neighbours",
    "tifu",
    "cooc_history",
    "cooc_last",
    "popularity",
    "count",
    "share",
    "baskets_since",
    "days_since",
    "mean_gap",
    "mean_gap_days",
    "first_since",
    "overdue",
    "days_since_target",
    "overdue_days",
    *[f"decayed_{r}" for r in DECAYS],
    "item_buyers",
    "item_rebuy",
    "item_mean_share",
    "user_baskets",
    "user_basket_size",
    "user_items",
    "user_repeat",
    "user_gap_days",
    "days_to_target",
)
REQUEST_TIME_FEATURES = ("days_to_target", "days_since_target", "overdue_days")
"""Features that need the time of the predicted basket."""
