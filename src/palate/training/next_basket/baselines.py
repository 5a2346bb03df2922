"""The frequency baselines of Li et al.: G-TopFreq, P-TopFreq and GP-TopFreq.

* **G-TopFreq** recommends the same list to everyone: the items in most baskets.
* **P-TopFreq** recommends the user's own items, by the number of history baskets holding
  them; ties go to the most recently bought, then to the globally more popular. A user with
  fewer than ``k`` distinct items gets a shorter list.
* **GP-TopFreq** is P-TopFreq filled up to ``k`` with G-TopFreq's items the user never bought.

Popularity counts every basket a recommender may see (all but the validation and test
targets). The scores are lexicographic keys packed into one float: whole numbers for the
personal count and recency, a fraction below 1 for popularity, so filling never outranks
a personal item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from palate.training.metrics import FloatArray, IntArray
from palate.training.next_basket.protocol import BasketSplit
from palate.training.next_basket.scoring import dense_rows, user_item_matrix


def popularity(split: BasketSplit) -> FloatArray:
    """Baskets holding each item among the baskets a recommender may learn from."""
    counts = split.known().group_by("item").len()
    out = np.zeros(split.n_items, dtype=np.float64)
    out[counts.get_column("item").to_numpy()] = counts.get_column("len").to_numpy()
    return out


def popularity_fraction(counts: FloatArray) -> FloatArray:
    """Each item's popularity rank as a fraction in (0, 1): the most popular is the largest.

    >>> popularity_fraction(np.array([5.0, 9.0, 5.0])).tolist()
    [0.5, 0.75, 0.25]
    """
    order = np.lexsort((np.arange(len(counts)), -counts))
    fraction = np.empty(len(counts), dtype=np.float64)
    fraction[order] = (len(counts) - np.arange(len(counts))) / (len(counts) + 1.0)
    return fraction


@dataclass(frozen=True)
class TopFreq:
    """One of the three frequency baselines over a :class:`BasketSplit`."""

    personal: sp.csr_array  # count * (max_basket + 1) + last basket + 1, per user and item
    global_key: FloatArray
    use_personal: bool
    use_global: bool

    def scores(self, users: IntArray) -> FloatArray:
        """Lexicographic (count, recency, popularity) keys; ``-inf`` outside the method's list."""
        n_items = len(self.global_key)
        if not self.use_personal:
            return np.broadcast_to(self.global_key, (len(users), n_items)).copy()
        personal = dense_rows(self.personal, users)
        scores = personal + self.global_key
        if not self.use_global:
            scores[personal == 0] = -np.inf
        return scores


def fit_topfreq(split: BasketSplit, *, personal: bool, global_fill: bool) -> TopFreq:
    """G-TopFreq (``personal=False``), P-TopFreq (``global_fill=False``) or GP-TopFreq."""
    history = split.history()
    span = float(history.get_column("basket").to_numpy().max(initial=0)) + 2.0
    per_item = history.group_by("user", "item").agg(
        key=pl.len().cast(pl.Float64) * span + pl.col("basket").max() + 1.0
    )
    keys = user_item_matrix(per_item, pl.col("key"), split.n_users, split.n_items)
    return TopFreq(keys, popularity_fraction(popularity(split)), personal, global_fill)


def g_topfreq(split: BasketSplit) -> TopFreq:
    """The globally most frequent items, for everyone."""
    return fit_topfreq(split, personal=False, global_fill=True)


def p_topfreq(split: BasketSplit) -> TopFreq:
    """The user's own most frequent items."""
    return fit_topfreq(split, personal=True, global_fill=False)


def gp_topfreq(split: BasketSplit) -> TopFreq:
    """P-TopFreq, then G-TopFreq's items for the remaining slots."""
    return fit_topfreq(split, personal=True, global_fill=True)
