"""Item scorers (in-venue and cart) and the selectors that shape item lists.

Every term is roughly on a unit scale so weights read as relative importance. The chains are
heuristic → popularity → menu order; the last needs nothing but the catalog, so a request
always gets an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from palate.catalog.item_query import ItemQuery
from palate.pipeline.candidates import Candidates, FloatArray
from palate.pipeline.id_lookup import is_member
from palate.pipeline.trace import note
from palate.ranking.item_embedding import ITEM_EMBEDDING_SCORE

RECENCY_DAYS = 30.0
HOUR_POPULARITY = "item_pop_hour"  # popularity at the request's local hour, when hydrated


@dataclass(frozen=True, slots=True)
class ItemWeights:
    """Weights of the item terms; the cart adds co-purchase and complementarity."""

    favourite: float = 2.0
    popularity: float = 1.0
    tag_affinity: float = 1.5
    category_affinity: float = 1.0
    price_fit: float = 0.5
    co_purchase: float = 2.0
    complement: float = 1.0
    embedding_affinity: float = 1.5


def log_peak(values: FloatArray) -> float:
    """The normaliser of a ``log1p`` term: the largest ``log1p`` value (0 when empty)."""
    return float(np.log1p(np.maximum(values, 0.0)).max()) if len(values) else 0.0


def item_peaks(candidates: Candidates, cart: bool) -> dict[str, float]:
    """The normalisers of every normalised term over all the candidates the scorer saw.

    An explanation of a few returned rows needs them so its terms still sum to the score.
    """
    peaks = {"item_pop": log_peak(popularity_now(candidates))}
    if cart:
        peaks["co_purchase"] = log_peak(candidates.feature("co_purchase"))
    return peaks


def popularity_now(candidates: Candidates) -> FloatArray:
    """Popularity at this hour (smoothed toward all-day) when hydrated, else all-day popularity."""
    hourly = candidates.features.get(HOUR_POPULARITY)
    return candidates.feature("item_pop") if hourly is None else hourly


def favourite(candidates: Candidates) -> FloatArray:
    """The customer's reorder signal: how often, boosted when recent."""
    orders = candidates.feature("user_item_orders")
    recency = np.exp(-candidates.feature("user_item_days_since") / RECENCY_DAYS)
    result: FloatArray = np.log1p(np.maximum(orders, 0.0)) * (1.0 + recency)
    return result


def item_terms(
    w: ItemWeights,
    query: ItemQuery,
    candidates: Candidates,
    *,
    cart: bool,
    peaks: Mapping[str, float] | None = None,
) -> dict[str, FloatArray]:
    """Each weighted term of the in-venue (or, with ``cart``, the cart) score; their sum is it.

    Favourites, popularity at this hour, tag and menu-category affinity and price fit; the cart adds
    co-purchase with the cart and a bonus for a menu category the cart lacks. ``peaks`` (from
    :func:`item_peaks`) normalise popularity and co-purchase; by default the candidates' own.
    """
    return terms_and_peaks(w, query, candidates, cart=cart, peaks=peaks)[0]


def terms_and_peaks(
    w: ItemWeights,
    query: ItemQuery,
    candidates: Candidates,
    *,
    cart: bool,
    peaks: Mapping[str, float] | None = None,
) -> tuple[dict[str, FloatArray], Mapping[str, float]]:
    """:func:`item_terms` and the peaks that normalised them, each ``log1p`` taken once."""
    popularity = np.log1p(np.maximum(popularity_now(candidates), 0.0))
    co_purchase = np.log1p(np.maximum(candidates.feature("co_purchase"), 0.0)) if cart else None
    if peaks is None:  # item_peaks' answer, from the columns just computed
        peaks = {"item_pop": _peak(popularity)}
        if co_purchase is not None:
            peaks["co_purchase"] = _peak(co_purchase)
    terms: dict[str, FloatArray] = {
        "favourite": w.favourite * favourite(candidates),
        "popularity": w.popularity * _scaled(popularity, peaks["item_pop"]),
        "tag_affinity": w.tag_affinity * candidates.feature("tag_affinity"),
        "category_affinity": w.category_affinity * candidates.feature("menu_category_share"),
        "price_fit": w.price_fit * candidates.feature("price_fit"),
    }
    embedding = candidates.features.get(ITEM_EMBEDDING_SCORE)
    if embedding is not None:  # fail-open: no factors, no term (and no zero in explanations)
        terms["embedding_affinity"] = w.embedding_affinity * np.clip(embedding, 0.0, 1.0)
    if co_purchase is not None:
        codes = query.columns.category.codes
        in_cart = is_member(codes[candidates.positions], codes[query.cart_rows()])
        terms["co_purchase"] = w.co_purchase * _scaled(co_purchase, peaks["co_purchase"])
        terms["complement"] = w.complement * (~in_cart).astype(np.float64)
    return terms, peaks


def _peak(logged: FloatArray) -> float:
    return float(logged.max()) if len(logged) else 0.0


def _scaled(logged: FloatArray, peak: float) -> FloatArray:
    """``log1p`` values over their ``peak``, so the term tops out at 1 (as is, without a peak).

    >>> logged = np.log1p(np.array([0.0, 1.0, 3.0]))
    >>> _scaled(logged, _peak(logged)).round(3).tolist()
    [0.0, 0.5, 1.0]
    """
    return logged / peak if peak > 0 else logged


def summed(terms: Mapping[str, FloatArray], rows: int) -> FloatArray:
    """The sum of the terms, in their order (the explanation adds them the same way)."""
    total: FloatArray = np.zeros(rows)
    for values in terms.values():
        np.add(total, values, out=total)
    return total


class ItemHeuristicScorer:
    """The customer's favourites and affinities, popularity and price fit."""

    name = "item_heuristic"
    cart = False

    def __init__(self, weights: ItemWeights | None = None) -> None:
        self.weights = weights or ItemWeights()

    def score(self, query: ItemQuery, candidates: Candidates) -> FloatArray:
        """Higher for what this customer is likely to order here.

        The normalisers go into the stage's trace, from which explanations read them.
        """
        terms, peaks = terms_and_peaks(self.weights, query, candidates, cart=self.cart)
        note(peaks=peaks)
        return summed(terms, len(candidates))


class CartScorer(ItemHeuristicScorer):
    """Complements of the cart: co-purchase, categories the cart lacks, the customer's taste."""

    name = "cart_heuristic"
    cart = True


class ItemPopularityScorer:
    """Fallback: the venue's best sellers at this hour."""

    name = "item_popularity"

    def score(self, query: ItemQuery, candidates: Candidates) -> FloatArray:  # noqa: ARG002
        """Decayed quantity sold, bent toward this hour when the hour columns are hydrated."""
        return popularity_now(candidates)


class MenuOrderScorer:
    """Last resort: the venue's own menu order, known from the catalog alone."""

    name = "menu_order"

    def score(self, query: ItemQuery, candidates: Candidates) -> FloatArray:  # noqa: ARG002
        """Earlier on the menu first."""
        result: FloatArray = -candidates.positions.astype(np.float64)
        return result


class ItemTopK:
    """Keep the first ``limit`` items of the scored order."""

    name = "top_k"

    def select(self, query: ItemQuery, candidates: Candidates) -> Candidates:
        """The head of the list."""
        return (
            candidates if len(candidates) <= query.limit else candidates.take(slice(0, query.limit))
        )


class CategoryCap:
    """At most ``per_category`` items of one menu category among the ``limit`` shown.

    A hard cap: when too few categories remain the list is shorter rather than over the cap.
    """

    name = "category_cap"

    def __init__(self, per_category: int) -> None:
        if per_category < 1:
            raise ValueError("per_category must be at least 1")
        self.per_category = per_category

    def select(self, query: ItemQuery, candidates: Candidates) -> Candidates:
        """The scored order with every item past its category's cap dropped."""
        codes = query.columns.category.codes.take(candidates.positions)
        n = len(codes)
        if not n:
            return candidates
        # Rank of each row within its category, in scored order (0 = the category's best):
        # its place in the stable sort by category minus where its category's run starts.
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes.take(order)
        place = np.arange(n)
        run_starts = np.empty(n, dtype=np.bool_)
        run_starts[0] = True
        np.not_equal(sorted_codes[1:], sorted_codes[:-1], out=run_starts[1:])
        run_start = np.maximum.accumulate(np.where(run_starts, place, 0))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = place - run_start
        kept = np.flatnonzero(rank < self.per_category)[: query.limit].astype(np.int32)
        return candidates.take(kept)
