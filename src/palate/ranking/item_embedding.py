"""The customer · item embedding affinity of the in-venue ranking (``item_emb_score``).

The customer × item factors come from implicit-feedback ALS on order lines, item add-to-carts
and item clicks (:func:`palate.training.embeddings.train_item_embeddings`) and ship with the
promoted model version, next to the venue factors. Unlike the customer's own order counts,
the dot product also scores items they never ordered: an item bought by the customers who buy
what they buy ranks up. Fail-open: without factors the hydrator adds no column and the item
scorers leave the term out, so the ranking is exactly the one without embeddings.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from palate.catalog.item_query import ItemQuery
from palate.pipeline.candidates import Candidates, FloatArray
from palate.ranking.embedding_features import Factorisation, Rows, affinity, rows_of, user_row

ITEM_EMBEDDING_SCORE = "item_emb_score"


class ItemEmbeddingAffinity:
    """Adds ``item_emb_score``: the customer · item dot product, 0 for items unseen in training."""

    name = "item_embedding_affinity"

    def __init__(self, factors: Callable[[], Factorisation | None]) -> None:
        self.factors = factors
        self._rows: tuple[Factorisation, object, Rows] | None = None

    def hydrate(self, query: ItemQuery, candidates: Candidates) -> dict[str, FloatArray]:
        """The ``item_emb_score`` column; none at all without factors or for an unseen customer."""
        factors = self.factors()  # once: a swap mid-request must not mix two factorisations
        if factors is None or user_row(factors, query.user_id) < 0:
            return {}
        rows = self._snapshot_rows(factors, query)[candidates.positions]
        return {ITEM_EMBEDDING_SCORE: affinity(factors, query.user_id, rows)}

    def _snapshot_rows(self, factors: Factorisation, query: ItemQuery) -> Rows:
        """Factor row of every item of the snapshot, recomputed only for new factors or items."""
        cached, item_ids = self._rows, query.columns.item_ids
        if cached is not None and cached[0] is factors and cached[1] is item_ids:
            return cached[2]
        rows = rows_of(factors.entity_ids, np.asarray(item_ids))
        self._rows = (factors, item_ids, rows)  # one tuple: readers see old or new, never half
        return rows
