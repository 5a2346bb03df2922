"""Point-in-time training data: each impression's features as they were when it was served.

The event log is replayed in time order into a fresh in-memory :class:`FeatureService` built
like serving's. Impressions are processed in steps (an hour by default): the features of a
step's requests are read from a state that holds only the events strictly before the step
starts, and only then are the step's own events ingested. So no label, and nothing that
happened after a ranking was served, can leak into that ranking's features.

Features are computed by the very hydrators the Discovery pipeline runs
(:class:`RequestContext`, :class:`OnlineFeatures`, :class:`EmbeddingAffinity`) over candidates
carrying the same source columns as :class:`DeliverableVenues`, so training and serving cannot
drift apart. The venue embeddings behind ``emb_score`` are refitted with the batch profiles,
once per ``profile_every``, on the events before that period starts: a row's ``emb_score``
never sees its own day or anything later.

The venue-only columns (popularity, engagement, venue profile) come, as in serving, from the
feature service's materialised frame of every venue rather than from one store read per
request: it is rebuilt at the first request of each quarter hour (and after every ingest of a
step, since a step starts a new quarter hour), so a request reads them as of an earlier
request of its own quarter hour, from the same pre-step state. Only the customer's columns are
read per request. That read per request was most of the cost of a replay.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from palate.catalog.geo_grid import haversine_many
from palate.catalog.index import VenueIndex
from palate.catalog.positions import venue_positions
from palate.domain.catalog import Catalog
from palate.domain.geo import Location
from palate.domain.requests import RankingRequest
from palate.features.feature_set import FeatureSet
from palate.features.service import FeatureService
from palate.features.store.registry import open_store
from palate.features.venue_attributes import attributes_of as venue_attributes
from palate.pipeline.candidates import Candidates, FloatArray
from palate.premises.discovery import DISCOVERY_FEATURES
from palate.ranking.embedding_features import EmbeddingAffinity
from palate.ranking.hydrators import OnlineFeatures, RequestContext
from palate.ranking.learned import feature_matrix
from palate.training.embeddings import (
    AlsParams,
    Embeddings,
    FeedbackWeights,
    train_venue_embeddings,
    venue_feedback,
)
from palate.training.venue_ranker.labels import labelled_impressions

DEFAULT_STEP = timedelta(hours=1)
DEFAULT_PROFILE_EVERY = timedelta(days=1)
VENUE_FRAME_MAX_AGE_S = 900.0  # the frame's own quarter-hour rule rebuilds it at least this often
Micros = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class TrainingTable:
    """Labelled impressions with their point-in-time features (columns ``features``, in order).

    ``frame`` columns: request_id, user_id, ts, lat, lon, venue_id, position, label, city,
    then one float column per feature. Rows are sorted by (ts, request_id, position), so every
    request's rows are contiguous.
    """

    frame: pl.DataFrame
    features: tuple[str, ...]
    seconds: float

    @property
    def n_requests(self) -> int:
        """How many distinct requests."""
        return int(self.frame["request_id"].n_unique())

    def matrix(self) -> npt.NDArray[np.float64]:
        """The feature matrix (rows like ``frame``, columns like ``features``)."""
        return self.frame.select(self.features).to_numpy().astype(np.float64, copy=False)

    def data_hash(self) -> str:
        """A content hash of the table (ids, labels and features), for the model registry."""
        digest = hashlib.sha256()
        hashed = self.frame.select("request_id", "venue_id", "label", *self.features).hash_rows(
            seed=0
        )
        digest.update(hashed.to_numpy().tobytes())
        return digest.hexdigest()[:16]


def feature_service(catalog: Catalog) -> FeatureService:
    """A fresh in-memory feature service with serving's feature set and venue facts, and
    serving's materialised venue-only columns (rebuilt at least every quarter hour)."""
    return FeatureService(
        open_store("memory"),
        FeatureSet.from_config(None),
        attributes=venue_attributes(catalog),
        frame_max_age_s=VENUE_FRAME_MAX_AGE_S,
        frame_refresh=False,  # state changes only by the replay's own ingests (patched)
    )


def build_training_table(
    catalog: Catalog,
    events: pa.Table,
    *,
    step: timedelta = DEFAULT_STEP,
    profile_every: timedelta = DEFAULT_PROFILE_EVERY,
    sample: float = 1.0,
    max_requests: int | None = None,
    engaged_only: bool = True,
    als: AlsParams | None = None,
) -> TrainingTable:
    """Discovery impressions of ``events`` with their features as of their step's start.

    ``engaged_only`` keeps only requests where some venue was engaged with (the others carry
    no ranking signal); ``sample`` keeps that share of requests (by a hash of the id), to
    trade data for time, and ``max_requests`` caps how many are kept (a uniform sample by
    hash above it). Every event is replayed either way. ``als`` sets the embeddings'
    fit (refitted every ``profile_every`` on the events before).
    """
    started = time.perf_counter()
    events = _time_ordered(events)
    index = VenueIndex.build(catalog)
    known = _known_venues(labelled_impressions(events), index)
    labels = _capped(_selected(known, sample, engaged_only), max_requests)
    replay = _Replay(catalog, index, events, profile_every, als or AlsParams())
    step_us = int(step / timedelta(microseconds=1))
    ts_us = _micros(labels["ts"])
    step_of_row = ts_us // step_us
    matrix = np.zeros((labels.height, len(DISCOVERY_FEATURES)), dtype=np.float64)
    bounds = _request_bounds(labels["request_id"])
    request_step = step_of_row[bounds[:-1]]
    columns = _RequestColumns.of(labels)
    for step_number in np.unique(request_step):
        replay.advance_to(int(step_number) * step_us)
        for r in np.flatnonzero(request_step == step_number):
            lo, hi = int(bounds[r]), int(bounds[r + 1])
            matrix[lo:hi] = replay.features(columns, lo, hi)
    frame = labels.with_columns(
        pl.Series("city", _cities(index, columns.positions)),
        *(pl.Series(name, matrix[:, j]) for j, name in enumerate(DISCOVERY_FEATURES)),
    )
    return TrainingTable(frame, DISCOVERY_FEATURES, time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class _RequestColumns:
    """The label table's columns as numpy arrays, sliced per request."""

    positions: npt.NDArray[np.int32]
    user_id: npt.NDArray[np.object_]
    ts_us: Micros
    lat: FloatArray
    lon: FloatArray

    @classmethod
    def of(cls, labels: pl.DataFrame) -> _RequestColumns:
        return cls(
            positions=labels["pos"].to_numpy().astype(np.int32),
            user_id=labels["user_id"].to_numpy().astype(object),
            ts_us=_micros(labels["ts"]),
            lat=labels["lat"].to_numpy().astype(np.float64),
            lon=labels["lon"].to_numpy().astype(np.float64),
        )


class _Replay:
    """The feature state of a replay: events are ingested strictly in time order."""

    def __init__(
        self,
        catalog: Catalog,
        index: VenueIndex,
        events: pa.Table,
        profile_every: timedelta,
        als: AlsParams,
    ) -> None:
        self.index = index
        self.service = feature_service(catalog)
        self.events = events
        self.event_us = _micros(pl.Series(events.column("ts")))
        self.orders = events.filter(pc.equal(events.column("type"), "order"))
        self.order_us = _micros(pl.Series(self.orders.column("ts")))
        # The embeddings read only feedback events: filter them once, not at every refit.
        feedback_types = pa.array(list(FeedbackWeights().positive()), pa.string())
        self.feedback = events.filter(pc.is_in(events.column("type"), feedback_types))
        self.feedback_us = _micros(pl.Series(self.feedback.column("ts")))
        self.profile_us = int(profile_every / timedelta(microseconds=1))
        self.ingested = 0
        self.profile_period = -1
        self.context = RequestContext(index)
        self.online = OnlineFeatures(self.service, index)
        self.als = als
        self.factors: Embeddings | None = None
        self.embedding = EmbeddingAffinity(index, lambda: self.factors)

    def advance_to(self, start_us: int) -> None:
        """Ingest every event before ``start_us`` (exclusive) and refresh stale snapshots."""
        end = int(np.searchsorted(self.event_us, start_us, side="left"))
        if end > self.ingested:
            self.service.ingest(self.events.slice(self.ingested, end - self.ingested))
            self.ingested = end
        period = start_us // self.profile_us
        if period != self.profile_period:  # the batch profile job runs once per period
            self.profile_period = period
            # As of the period's start, like the job: not of whichever step comes first, so
            # a sample of requests sees the same profiles as the whole log.
            period_start = period * self.profile_us
            n_orders = int(np.searchsorted(self.order_us, period_start, side="left"))
            when = datetime.fromtimestamp(period_start / 1e6, UTC)
            self.service.refresh_snapshots(self.orders.slice(0, n_orders), when)
            self._refit_factors(period * self.profile_us)

    def _refit_factors(self, period_us: int) -> None:
        """Embeddings of the events before the period starts (the nightly job's view)."""
        n_events = int(np.searchsorted(self.feedback_us, period_us, side="left"))
        when = datetime.fromtimestamp(period_us / 1e6, UTC)
        self.factors = fit_venue_factors(self.feedback.slice(0, n_events), when, self.als)

    def features(self, rows: _RequestColumns, lo: int, hi: int) -> npt.NDArray[np.float64]:
        """The request's feature matrix, as serving's hydrators compute it."""
        positions = rows.positions[lo:hi]
        lat, lon = float(rows.lat[lo]), float(rows.lon[lo])
        request = RankingRequest(
            user_id=str(rows.user_id[lo]),
            location=Location(lat, lon),
            when=datetime.fromtimestamp(int(rows.ts_us[lo]) / 1e6, UTC),
            limit=hi - lo,
        )
        candidates = source_candidates(self.index, positions, lat, lon)
        candidates.features.update(self.context.hydrate(request, candidates))
        candidates.features.update(self.online.hydrate(request, candidates))
        candidates.features.update(self.embedding.hydrate(request, candidates))
        return feature_matrix(candidates, DISCOVERY_FEATURES)


def fit_venue_factors(
    events: pa.Table, as_of: datetime, params: AlsParams | None = None
) -> Embeddings | None:
    """Venue embeddings of ``events`` decayed to ``as_of``; ``None`` without any feedback."""
    if venue_feedback(events, FeedbackWeights().positive()).is_empty():
        return None
    return train_venue_embeddings(events, params=params, as_of=as_of)


def source_candidates(
    index: VenueIndex, positions: npt.NDArray[np.int32], lat: float, lon: float
) -> Candidates:
    """Candidates with the columns :class:`DeliverableVenues` gives, for chosen venues."""
    columns = index.columns
    distance = haversine_many(index.lat[positions], index.lon[positions], lat, lon)
    return Candidates(
        positions,
        {
            "distance_m": distance,
            "rating": columns.rating[positions].astype(np.float64),
            "rating_count": columns.rating_count[positions].astype(np.float64),
            "prep_time_min": columns.prep_time_min[positions].astype(np.float64),
            "price_level": columns.price_level[positions].astype(np.float64),
        },
    )


def _time_ordered(events: pa.Table) -> pa.Table:
    ts = events.column("ts")
    if pc.all(pc.greater_equal(ts.slice(1), ts.slice(0, max(len(ts) - 1, 0)))).as_py() in (
        True,
        None,
    ):
        return events
    return events.take(pc.sort_indices(events, [("ts", "ascending")]))


def _known_venues(labels: pl.DataFrame, index: VenueIndex) -> pl.DataFrame:
    """Impressions of venues the catalog knows, with their index position ``pos``."""
    positions = venue_positions(index, labels["venue_id"].to_arrow())
    return labels.with_columns(pl.Series("pos", positions)).filter(pl.col("pos") >= 0)


def _selected(labels: pl.DataFrame, sample: float, engaged_only: bool) -> pl.DataFrame:
    if not 0.0 < sample <= 1.0:
        raise ValueError(f"sample must be in (0, 1], got {sample}")
    keep = pl.lit(value=True)
    if engaged_only:
        keep = keep & (pl.col("label").max().over("request_id") > 0)
    if sample < 1.0:
        keep = keep & (pl.col("request_id").hash(seed=11) % 10_000 < round(sample * 10_000))
    return labels.filter(keep)


def _capped(labels: pl.DataFrame, max_requests: int | None) -> pl.DataFrame:
    """At most ``max_requests`` requests, those with the smallest id hashes (a uniform,
    reproducible sample across the whole period, so the temporal split keeps its shape)."""
    if max_requests is None:
        return labels
    requests = labels.select(pl.col("request_id").unique())
    if requests.height <= max_requests:
        return labels
    hashed = requests.with_columns(pl.col("request_id").hash(seed=13).alias("h"))
    kept = hashed.sort("h", "request_id").head(max_requests)["request_id"]
    return labels.filter(pl.col("request_id").is_in(kept.implode()))


def _request_bounds(request_ids: pl.Series) -> npt.NDArray[np.int64]:
    """Start offsets of each request's contiguous rows, plus the end."""
    if request_ids.is_empty():
        return np.zeros(1, dtype=np.int64)
    changes = (request_ids != request_ids.shift(1)).fill_null(value=True).to_numpy()
    return np.append(np.flatnonzero(changes), len(request_ids)).astype(np.int64)


def _cities(index: VenueIndex, positions: npt.NDArray[np.int32]) -> list[str | None]:
    codes = index.columns.city
    vocabulary = np.asarray([str(v) for v in codes.vocabulary] + [""], dtype=object)
    picked = vocabulary[codes.codes[positions]]  # code -1 (no city) picks the trailing ""
    return [str(c) or None for c in picked]


def _micros(ts: pl.Series) -> Micros:
    values: Micros = ts.cast(pl.Datetime("us", "UTC")).dt.epoch("us").to_numpy().astype(np.int64)
    return values
