"""Item-to-item co-purchase within a venue: which items go with what is already in the cart.

From every order's basket, the basket × item incidence matrix ``B`` gives the co-occurrence
counts ``C = Bᵀ·B`` in one sparse product: ``C[i, j]`` baskets hold both items, ``C[i, i]``
baskets hold item ``i``. Pairs are kept only within one venue. For a pair at venue ``v`` with
``N_v`` baskets, independence predicts ``E = C[i, i]·C[j, j] / N_v`` joint baskets, and::

    lift = C[i, j] / E        pmi = log(lift)        score = log((C[i, j] + k) / (E + k))

The score is PMI with ``k`` pseudo-baskets of "no association" added to both sides (a Bayesian
shrink toward 0): a pair seen twice counts for little however high its lift, a pair seen often
approaches its PMI, and two popular items that are never bought together (two mains, two
colas) score below zero, which a sparse table of observed pairs alone could not say.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import polars as pl
import pyarrow as pa
import scipy.sparse as sp

from palate.pipeline.candidates import FloatArray, IntArray
from palate.training.artifacts import (
    Ids,
    StrArray,
    as_id_array,
    codes_of,
    csr_arrays,
    csr_from_arrays,
    event_frame,
    load_arrays,
    positions_in,
    save_arrays,
    sorted_unique,
)
from palate.training.embeddings import TopK

_NAME = "copurchase"


class Association(NamedTuple):
    """One item pair: how many baskets held both, their lift and PMI, and the shrunk score."""

    baskets: int
    lift: float
    pmi: float
    score: float


def basket_lines(events: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """``(basket, venue_id, item_id)``: one row per distinct item of each order."""
    orders = event_frame(events, ["venue_id", "lines"], {"order"})
    return (
        orders.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("basket"),
            "venue_id",
            pl.col("lines").list.eval(pl.element().struct["item_id"]).list.unique(),
        )
        .explode("lines")
        .rename({"lines": "item_id"})
        .drop_nulls()
    )


@dataclass(frozen=True, slots=True, eq=False)
class CoPurchase:
    """Same-venue pair counts; rows and columns of :attr:`counts` follow :attr:`item_ids`."""

    item_ids: StrArray
    item_venue: IntArray
    item_baskets: FloatArray
    venue_ids: StrArray
    venue_baskets: FloatArray
    counts: Any  # scipy.sparse.csr_matrix of pair counts (off-diagonal, same venue)
    shrinkage: float
    min_count: int

    @classmethod
    def fit(
        cls, events: pa.Table | pl.DataFrame, *, shrinkage: float = 5.0, min_count: int = 1
    ) -> CoPurchase:
        """Count pairs over every order basket of ``events``. Pairs seen in fewer than
        ``min_count`` baskets are not stored (and then score as never seen together).
        """
        if shrinkage <= 0:
            raise ValueError(f"shrinkage must be positive, got {shrinkage}")
        lines = basket_lines(events)
        item_ids, item_venue, venue_ids = _owners(lines)
        per_venue = lines.group_by("venue_id").agg(pl.col("basket").n_unique())
        venue_baskets = np.zeros(len(venue_ids))
        venue_baskets[codes_of(per_venue["venue_id"], venue_ids)] = per_venue["basket"].to_numpy()
        n_baskets = int(lines["basket"].max()) + 1 if lines.height else 0  # type: ignore[arg-type]
        incidence = sp.csr_matrix(
            (
                np.ones(lines.height, dtype=np.float64),
                (lines["basket"].to_numpy(), codes_of(lines["item_id"], item_ids)),
            ),
            shape=(n_baskets, len(item_ids)),
        )
        together = (incidence.T @ incidence).tocsr()
        counts = _same_venue_pairs(together, item_venue, min_count)
        return cls(
            item_ids, item_venue, together.diagonal().astype(np.float64), venue_ids,
            venue_baskets, counts, float(shrinkage), int(min_count),
        )  # fmt: skip

    def scores(self, rows_a: IntArray, rows_b: IntArray) -> FloatArray:
        """Dense ``len(rows_a) × len(rows_b)`` scores between item rows of one venue; an
        item with itself scores 0.
        """
        joint = self._joint(rows_a, rows_b)
        expected = np.outer(self.item_baskets[rows_a], self.item_baskets[rows_b])
        expected /= np.maximum(self.venue_baskets[self.item_venue[rows_a]], 1.0)[:, None]
        score: FloatArray = np.log((joint + self.shrinkage) / (expected + self.shrinkage))
        score[rows_a[:, None] == rows_b[None, :]] = 0.0
        return score

    def _joint(self, rows_a: IntArray, rows_b: IntArray) -> FloatArray:
        """Dense pair counts, read straight from the CSR arrays: a few times faster than
        scipy's fancy indexing on the small blocks a cart request asks for.
        """
        if len(rows_a) == 0 or len(rows_b) == 0:
            return np.zeros((len(rows_a), len(rows_b)))
        indptr = self.counts.indptr
        starts, lengths = indptr[rows_a], indptr[rows_a + 1] - indptr[rows_a]
        owner = np.repeat(np.arange(len(rows_a)), lengths)
        entries = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(
            lengths.sum()
        )
        columns, inverse = np.unique(rows_b, return_inverse=True)
        where = np.minimum(np.searchsorted(columns, self.counts.indices[entries]), len(columns) - 1)
        hit = columns[where] == self.counts.indices[entries]
        joint = np.zeros((len(rows_a), len(columns)))
        joint[owner[hit], where[hit]] = self.counts.data[entries[hit]]
        return joint[:, inverse.ravel()]

    def association(self, item_a: str, item_b: str) -> Association:
        """Baskets with both items, lift, PMI (``-inf`` when never together) and the score;
        all zero for unknown items or items of different venues.
        """
        a, b = (int(p) for p in positions_in(self.item_ids, [item_a, item_b]))
        if min(a, b) < 0 or self.item_venue[a] != self.item_venue[b] or a == b:
            return Association(0, 0.0, 0.0, 0.0)
        together = int(self.counts[a, b])
        rows_a, rows_b = np.array([a]), np.array([b])
        expected = (
            self.item_baskets[a] * self.item_baskets[b] / self.venue_baskets[self.item_venue[a]]
        )
        lift = together / expected
        pmi = float(np.log(lift)) if together else float("-inf")
        return Association(together, float(lift), pmi, float(self.scores(rows_a, rows_b)[0, 0]))

    def complements(
        self,
        venue_id: str,
        basket_item_ids: Ids,
        candidate_item_ids: Ids,
        *,
        how: Literal["sum", "max"] = "sum",
    ) -> FloatArray:
        """How well each candidate goes with the basket: the sum (or max) of its scores with the
        basket's items. Candidates of another venue or unseen in training get 0, and so does
        every candidate when no basket item is known at ``venue_id``.
        """
        basket = self._rows_at(venue_id, basket_item_ids)
        candidates = self._rows_at(venue_id, candidate_item_ids)
        out = np.zeros(len(candidates), dtype=np.float64)
        basket = np.unique(basket[basket >= 0])
        known = candidates >= 0
        if len(basket) == 0 or not known.any():
            return out
        block = self.scores(basket, candidates[known])
        out[known] = block.sum(axis=0) if how == "sum" else block.max(axis=0)
        return out

    def top_complements(self, item_id: str, k: int) -> TopK:
        """The ``k`` items of the same venue with the highest positive scores, best first."""
        row = int(positions_in(self.item_ids, [item_id])[0])
        if row < 0 or k <= 0:
            return TopK(np.empty(0, np.int32), np.empty(0, np.str_), np.empty(0, np.float64))
        menu = np.flatnonzero(self.item_venue == self.item_venue[row]).astype(np.int32)
        score = self.scores(np.array([row]), menu)[0]
        keep = (score > 0) & (menu != row)
        menu, score = menu[keep], score[keep]
        order = np.lexsort((menu, -score))[:k]
        return TopK(menu[order], self.item_ids[menu[order]], score[order])

    def _rows_at(self, venue_id: str, item_ids: Ids) -> IntArray:
        """Item rows, ``-1`` for items unseen in training or not of ``venue_id``."""
        rows = positions_in(self.item_ids, item_ids)
        venue = int(positions_in(self.venue_ids, [venue_id])[0])
        known = rows >= 0
        home = np.full(len(rows), -1, dtype=np.int32)
        home[known] = self.item_venue[rows[known]]
        return np.where(known & (home == venue) & (venue >= 0), rows, -1).astype(np.int32)

    def save(self, directory: Path) -> None:
        """Write ``copurchase.npz`` and ``copurchase.json`` into ``directory``."""
        arrays = {
            "item_ids": self.item_ids,
            "item_venue": self.item_venue,
            "item_baskets": self.item_baskets,
            "venue_ids": self.venue_ids,
            "venue_baskets": self.venue_baskets,
            **csr_arrays("counts", self.counts),
        }
        metadata = {"shrinkage": self.shrinkage, "min_count": self.min_count,
                    "n_items": len(self.item_ids), "n_pairs": int(self.counts.nnz)}  # fmt: skip
        save_arrays(directory, _NAME, arrays, metadata)

    @classmethod
    def load(cls, directory: Path) -> CoPurchase:
        """Read what :meth:`save` wrote into ``directory``."""
        arrays, metadata = load_arrays(directory, _NAME)
        return cls(
            arrays["item_ids"], arrays["item_venue"], arrays["item_baskets"],
            arrays["venue_ids"], arrays["venue_baskets"], csr_from_arrays("counts", arrays),
            float(metadata["shrinkage"]), int(metadata["min_count"]),
        )  # fmt: skip


def _owners(lines: pl.DataFrame) -> tuple[StrArray, IntArray, StrArray]:
    """Sorted item ids, each item's venue (as a row of the sorted venue ids) and those ids.

    An item belongs to the venue it is most often ordered from, and pairs are kept only
    between items of one venue, so a mislabelled line never links two venues.
    """
    owner = (
        lines.group_by("item_id", "venue_id")
        .len()
        .sort("item_id", "len", "venue_id", descending=[False, True, False])
        .unique("item_id", keep="first", maintain_order=True)
    )
    venue_ids = sorted_unique(lines["venue_id"])
    item_ids = as_id_array(owner["item_id"].to_numpy())
    return item_ids, codes_of(owner["venue_id"], venue_ids), venue_ids


def _same_venue_pairs(together: Any, item_venue: IntArray, min_count: int) -> Any:
    """Off-diagonal pair counts between items of one venue, seen at least ``min_count`` times."""
    pairs = together.tocoo()
    keep = (
        (pairs.row != pairs.col)
        & (item_venue[pairs.row] == item_venue[pairs.col])
        & (pairs.data >= max(min_count, 1))
    )
    return sp.csr_matrix(
        (pairs.data[keep], (pairs.row[keep], pairs.col[keep])), shape=together.shape
    )
