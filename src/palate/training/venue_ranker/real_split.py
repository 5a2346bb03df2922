"""Leave-one-out split of a real venue-interaction log, and the per-(user, venue) signals.

Built for the UCI restaurant-consumer data (every rating a click, the best also an order) but
works on any imported dataset whose events name venues: each user with at least
``min_venues`` distinct venues holds out the venue they interacted with last; everything else
is training. Venue columns are shuffled by a seed once, so that the index order used to break
ties between equal scores is random rather than the catalog's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp

from palate.datasets.imported import ImportedDataset

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]
EARTH_RADIUS_KM = 6_371.0088


@dataclass(frozen=True, slots=True)
class VenueTable:
    """Venue attributes aligned with the split's venue columns."""

    ids: ObjectArray
    lat: FloatArray
    lon: FloatArray
    price: FloatArray  # price level, nan where unknown
    cuisines: sp.csr_array  # (venues, cuisines) 0/1


@dataclass(frozen=True, slots=True)
class LeaveOneOut:
    """Training interactions and one held-out venue per test user."""

    users: ObjectArray
    venues: VenueTable
    train: sp.csr_array  # (users, venues): 2 where the user ordered, 1 where only clicked
    target: IntArray  # held-out venue column per user
    train_events: pl.DataFrame  # the event log without the held-out (user, venue) pairs

    @property
    def seen(self) -> npt.NDArray[np.bool_]:
        """Venues each user interacted with in training (never candidates)."""
        return np.asarray(self.train.toarray() > 0)


def venue_table(dataset: ImportedDataset, ids: ObjectArray) -> VenueTable:
    """Location, price level and cuisines of the venues ``ids``, in that order."""
    venues = [dataset.catalog.venues[str(v)] for v in ids]
    names = sorted({c for v in venues for c in v.cuisines})
    column = {name: j for j, name in enumerate(names)}
    rows = np.repeat(np.arange(len(venues)), [len(v.cuisines) for v in venues])
    cols = np.array([column[c] for v in venues for c in v.cuisines], dtype=np.int64)
    cuisines = sp.csr_array(
        (np.ones(len(cols)), (rows, cols)), shape=(len(venues), max(len(names), 1))
    )
    return VenueTable(
        ids=ids,
        lat=np.array([v.location.lat for v in venues]),
        lon=np.array([v.location.lon for v in venues]),
        price=np.array([np.nan if v.price_level is None else v.price_level for v in venues]),
        cuisines=cuisines,
    )


def leave_one_out(dataset: ImportedDataset, *, min_venues: int = 3, seed: int = 0) -> LeaveOneOut:
    """Hold out each qualifying user's last venue (by first-interaction time)."""
    events = pl.DataFrame(dataset.events)
    pairs = (
        events.filter(pl.col("venue_id").is_not_null())
        .group_by("user_id", "venue_id")
        .agg(pl.col("ts").min(), (pl.col("type") == "order").any().alias("ordered"))
        .filter(pl.len().over("user_id") >= min_venues)
        .sort("user_id", "ts", "venue_id")
    )
    rng = np.random.default_rng(seed)
    venue_ids = rng.permutation(np.array(sorted(dataset.catalog.venues), dtype=object))
    column = pl.DataFrame({"venue_id": venue_ids.astype(str), "col": np.arange(len(venue_ids))})
    users = np.array(pairs["user_id"].unique(maintain_order=True).to_list(), dtype=object)
    pairs = pairs.join(column, on="venue_id").with_columns(
        pl.col("user_id").rank("dense").cast(pl.Int64).sub(1).alias("row"),
        (pl.col("ts") == pl.col("ts").max().over("user_id")).alias("held_out"),
    )
    held = pairs.filter(pl.col("held_out")).unique("user_id", keep="last").sort("row")
    kept = pairs.filter(~pl.col("held_out"))
    train = sp.csr_array(
        (
            np.where(kept["ordered"].to_numpy(), 2.0, 1.0),
            (kept["row"].to_numpy(), kept["col"].to_numpy()),
        ),
        shape=(len(users), len(venue_ids)),
    )
    train_events = events.join(
        held.select("user_id", "venue_id"), on=["user_id", "venue_id"], how="anti"
    )
    return LeaveOneOut(
        users=np.array(sorted(users), dtype=object),
        venues=venue_table(dataset, venue_ids),
        train=train,
        target=held["col"].to_numpy().astype(np.int64),
        train_events=train_events,
    )


def centroid_distance_km(split: LeaveOneOut) -> FloatArray:
    """Great-circle km from the centroid of each user's training venues to every venue."""
    seen = np.asarray(split.seen, dtype=np.float64)
    counts = np.maximum(seen.sum(axis=1), 1.0)
    lat = np.radians(seen @ split.venues.lat / counts)[:, None]
    lon = np.radians(seen @ split.venues.lon / counts)[:, None]
    v_lat, v_lon = np.radians(split.venues.lat)[None, :], np.radians(split.venues.lon)[None, :]
    half = (
        np.sin((v_lat - lat) / 2) ** 2
        + np.cos(lat) * np.cos(v_lat) * np.sin((v_lon - lon) / 2) ** 2
    )
    distance: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(half, 0.0, 1.0)))
    return distance


def price_gap(split: LeaveOneOut) -> FloatArray:
    """|venue price level - the user's mean training price level| (0 where either is unknown)."""
    price = split.venues.price
    known = (~np.isnan(price)).astype(np.float64)
    seen = np.asarray(split.seen, dtype=np.float64)
    total = seen @ np.nan_to_num(price)
    count = seen @ known
    mean = np.divide(total, count, out=np.full(len(total), np.nan), where=count > 0)
    gap = np.abs(price[None, :] - mean[:, None])
    result: FloatArray = np.nan_to_num(gap, nan=0.0)
    return result


def cuisine_match(split: LeaveOneOut) -> FloatArray:
    """Share of the user's training cuisines that each venue serves (summed over its cuisines)."""
    profile = np.asarray(split.seen, dtype=np.float64) @ split.venues.cuisines.toarray()
    totals = np.maximum(profile.sum(axis=1, keepdims=True), 1.0)
    match: FloatArray = (profile / totals) @ split.venues.cuisines.T.toarray()
    return match


def item_knn(split: LeaveOneOut) -> FloatArray:
    """Sum of cosine similarities (co-rating, training only) to the user's training venues."""
    seen = np.asarray(split.seen, dtype=np.float64)
    co = seen.T @ seen
    norms = np.sqrt(np.diag(co))
    similarity = co / np.maximum(np.outer(norms, norms), 1e-12)
    np.fill_diagonal(similarity, 0.0)
    scores: FloatArray = seen @ similarity
    return scores


def popularity(split: LeaveOneOut) -> FloatArray:
    """log1p of each venue's training interaction count, the same for every user."""
    counts = np.asarray(split.seen, dtype=np.float64).sum(axis=0)
    return np.broadcast_to(np.log1p(counts), split.train.shape).copy()
