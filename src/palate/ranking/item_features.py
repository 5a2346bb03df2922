"""Item hydrators: the online item columns, and the customer's profile over all their lines.

The profile reads the customer's whole decayed item history (every venue) and turns it into
shares: of their lines per item tag (vegetarian, alcohol …) and per menu category (drinks,
desserts …), and their typical item price. A vegetarian-leaning customer thus lifts vegetarian
items even at a venue they never ordered from.
"""

from __future__ import annotations

import numpy as np

from palate.catalog.item_query import ItemQuery
from palate.catalog.items_index import ItemColumns
from palate.features.items import ItemPopularity
from palate.features.pipeline_reads import as_float64, read_alone
from palate.features.service import FeatureService
from palate.features.store import MapValues, ReadBatch, ReadResults
from palate.pipeline.candidates import Candidates, FloatArray
from palate.pipeline.stages import Finish

ITEM_COLUMNS = ("item_pop", "item_share", "user_item_orders", "user_item_days_since")
PROFILE_COLUMNS = ("tag_affinity", "menu_category_share", "price_fit", "history_lines")


class ItemFeatures:
    """Popularity, the customer's own orders of each item, and co-purchase with the cart."""

    name = "item_features"

    def __init__(self, features: FeatureService) -> None:
        self.features = features

    def hydrate(self, query: ItemQuery, candidates: Candidates) -> dict[str, FloatArray]:
        """Every item column of the feature service, in one store read."""
        return read_alone(self.features, query, lambda reads: self.plan(query, candidates, reads))

    def plan(self, query: ItemQuery, candidates: Candidates, reads: ReadBatch) -> Finish:
        """Every item column's reads, in a batch the other item hydrators may share."""
        ids = query.columns.item_ids[candidates.positions].tolist()
        return as_float64(
            self.features.plan_item_features(
                reads, query.user_id, query.venue_id, ids, query.when, cart=query.cart
            )
        )


def profile_columns(
    columns: ItemColumns, history: MapValues, rows: np.ndarray
) -> dict[str, FloatArray]:
    """Tag affinity, menu-category share and price fit of ``rows`` for one history."""
    known = np.fromiter(
        (columns.positions.get(i, -1) for i in history.fields.tolist()),
        dtype=np.int64,
        count=len(history),
    )
    weights = history.values[known >= 0]
    past = known[known >= 0]
    total = float(weights.sum())
    n = len(rows)
    if total <= 0:
        return {name: np.zeros(n) for name in PROFILE_COLUMNS}
    tag_share = (weights @ columns.tags.matrix[past].astype(np.float64)) / total
    tagged = columns.tags.matrix[rows].astype(np.float64) * tag_share[None, :]
    n_categories = len(columns.category.vocabulary)
    category_share = (
        np.bincount(columns.category.codes[past], weights=weights, minlength=n_categories) / total
    )
    typical = float(np.log1p(columns.price[past]) @ weights) / total  # the weighted mean
    return {
        "tag_affinity": tagged.max(axis=1) if tagged.shape[1] else np.zeros(n),
        "menu_category_share": category_share[columns.category.codes[rows]],
        "price_fit": -np.abs(np.log1p(columns.price[rows]) - typical),
        "history_lines": np.full(n, total),
    }


class CustomerProfile:
    """Columns :data:`PROFILE_COLUMNS` from the customer's item history (one store read)."""

    name = "customer_profile"

    def __init__(self, features: FeatureService) -> None:
        self.features = features

    def hydrate(self, query: ItemQuery, candidates: Candidates) -> dict[str, FloatArray]:
        """Zeros for a customer without history."""
        return read_alone(self.features, query, lambda reads: self.plan(query, candidates, reads))

    def plan(self, query: ItemQuery, candidates: Candidates, reads: ReadBatch) -> Finish:
        """The read of the customer's whole item history (nothing when the feature is off)."""
        feature = self.features.features.get("item_popularity")
        handle = None
        if isinstance(feature, ItemPopularity):
            handle = reads.map(feature.customer, query.user_id)

        def columns(results: ReadResults) -> dict[str, FloatArray]:
            history = MapValues.empty() if handle is None else results[handle]
            return profile_columns(query.columns, history, candidates.positions)

        return columns
