"""The customer · venue embedding affinity as a ranking feature (``emb_score``).

The factors come from implicit-feedback ALS (:mod:`palate.training.embeddings`); a model
version carries the ones it was trained with in ``<version>/embeddings/``, so the feature and
the model that learnt its meaning are swapped together. The hydrator maps the catalog's
venues to factor rows once per (factors, index) pair and then scores a request with one
gather and one matrix-vector product. Unknown customers and venues score 0, and with no
factors at all the column is all zeros (fail-open: the ranking degrades, it does not fail).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from palate.catalog.index import VenueIndex
from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates, FloatArray, IntArray

EMBEDDING_FEATURES = ("emb_score",)
EMBEDDINGS_DIR = "embeddings"
VENUE_EMBEDDINGS = "venue_embeddings.npz"  # the file Embeddings.save writes for kind "venue"
ITEM_EMBEDDINGS = "item_embeddings.npz"  # ... and for kind "item" (customers × items)

Factors = npt.NDArray[np.float32]
StrArray = npt.NDArray[np.str_]
Rows = npt.NDArray[np.int32]


class Factorisation(Protocol):
    """Customer and venue factors, rows aligned with the sorted id arrays."""

    @property
    def user_ids(self) -> StrArray:
        """Sorted customer ids."""
        ...

    @property
    def entity_ids(self) -> StrArray:
        """Sorted venue ids."""
        ...

    @property
    def user_factors(self) -> Factors:
        """One row per customer."""
        ...

    @property
    def entity_factors(self) -> Factors:
        """One row per venue."""
        ...


@dataclass(frozen=True, slots=True, eq=False)
class VenueFactors:
    """Venue embeddings as serving reads them (no training dependencies)."""

    user_ids: StrArray
    entity_ids: StrArray
    user_factors: Factors
    entity_factors: Factors


def load_venue_factors(directory: Path) -> VenueFactors | None:
    """The venue factors saved in ``directory``, or ``None`` when there are none."""
    return _load_factors(directory / VENUE_EMBEDDINGS)


def load_item_factors(directory: Path) -> VenueFactors | None:
    """The customer × item factors saved in ``directory``, or ``None`` when there are none."""
    return _load_factors(directory / ITEM_EMBEDDINGS)


def _load_factors(path: Path) -> VenueFactors | None:
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as archive:
        arrays: dict[str, Any] = {key: archive[key] for key in archive.files}
    return VenueFactors(
        arrays["user_ids"], arrays["entity_ids"], arrays["user_factors"], arrays["entity_factors"]
    )


def rows_of(vocabulary: StrArray, ids: npt.ArrayLike) -> Rows:
    """Row of each id in the sorted ``vocabulary``, ``-1`` where absent.

    >>> rows_of(np.array(["a", "c"]), ["c", "b", "a", "z"]).tolist()
    [1, -1, 0, -1]
    """
    query = np.asarray(ids, dtype=np.str_)
    if len(vocabulary) == 0 or len(query) == 0:
        return np.full(len(query), -1, dtype=np.int32)
    found = np.minimum(np.searchsorted(vocabulary, query), len(vocabulary) - 1)
    return np.where(vocabulary[found] == query, found, -1).astype(np.int32)


def user_row(factors: Factorisation, user_id: str) -> int:
    """The customer's row in ``factors.user_factors``, ``-1`` for a customer unseen in training.

    >>> f = VenueFactors(np.array(["a", "c"]), np.array([]), np.ones((2, 1), np.float32),
    ...                  np.ones((0, 1), np.float32))
    >>> [user_row(f, u) for u in ("a", "b", "c", "d", "cc")]
    [0, -1, 1, -1, -1]
    """
    ids = factors.user_ids
    found = int(np.searchsorted(ids, user_id))  # a scalar search: no query array to build
    return found if found < len(ids) and ids[found] == user_id else -1


def nearest(factors: Factorisation | None, user_id: str, rows: Rows) -> IntArray | None:
    """Indices into ``rows`` of the known entities, nearest the customer's vector first.

    Nearest is the largest dot product (the score ALS was fitted to reproduce), computed with
    one gather and one matrix-vector product over just these rows; ties keep ``rows``' order.
    ``None`` when the customer has no vector (the caller falls back to its own order).

    >>> f = VenueFactors(np.array(["u"]), np.array(["a", "b", "c"]), np.ones((1, 2), np.float32),
    ...                  np.array([[1, 0], [2, 2], [0, 1]], np.float32))
    >>> nearest(f, "u", np.array([0, -1, 2, 1], np.int32)).tolist()
    [3, 0, 2]
    >>> nearest(f, "stranger", np.array([0], np.int32)) is None
    True
    """
    row = -1 if factors is None else user_row(factors, user_id)
    if factors is None or row < 0:
        return None
    known = np.flatnonzero(rows >= 0)
    scores = factors.entity_factors[rows[known]] @ factors.user_factors[row]
    return known[np.lexsort((known, -scores))].astype(np.int32)


def affinity(factors: Factorisation | None, user_id: str, rows: Rows) -> FloatArray:
    """Customer · venue dot products for factor ``rows`` (``-1``: unknown venue → 0).

    >>> f = VenueFactors(np.array(["u"]), np.array(["a", "b"]), np.ones((1, 2), np.float32),
    ...                  np.array([[1, 0], [2, 2]], np.float32))
    >>> affinity(f, "u", np.array([1, -1, 0], np.int32)).tolist()
    [4.0, 0.0, 1.0]
    >>> affinity(f, "stranger", np.array([1], np.int32)).tolist()
    [0.0]
    """
    out = np.zeros(len(rows), dtype=np.float64)
    if factors is None:
        return out
    row = user_row(factors, user_id)
    if row < 0:
        return out
    known = np.flatnonzero(rows >= 0)
    # take gathers the same rows as fancy indexing, faster; the product is the same call
    out[known] = factors.entity_factors.take(rows.take(known), axis=0) @ factors.user_factors[row]
    return out


class EmbeddingAffinity:
    """Adds ``emb_score``, the customer · venue affinity from the current factors."""

    name = "embedding_affinity"

    def __init__(self, index: VenueIndex, factors: Callable[[], Factorisation | None]) -> None:
        self.index = index
        self.factors = factors
        self._rows: tuple[Factorisation, object, Rows] | None = None

    def hydrate(self, request: RankingRequest, candidates: Candidates) -> dict[str, FloatArray]:
        """The ``emb_score`` column (zeros without factors)."""
        factors = self.factors()  # once: a swap mid-request must not mix two factorisations
        if factors is None:
            return {"emb_score": np.zeros(len(candidates), dtype=np.float64)}
        rows = self._catalog_rows(factors).take(candidates.positions)
        return {"emb_score": affinity(factors, request.user_id, rows)}

    def _catalog_rows(self, factors: Factorisation) -> Rows:
        """Factor row of every catalog venue, recomputed only for new factors or a new index."""
        cached, venue_ids = self._rows, self.index.venue_ids
        if cached is not None and cached[0] is factors and cached[1] is venue_ids:
            return cached[2]
        rows = rows_of(factors.entity_ids, venue_ids)
        self._rows = (factors, venue_ids, rows)  # one tuple: readers see old or new, never half
        return rows
