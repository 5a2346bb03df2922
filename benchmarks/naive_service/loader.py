"""Write the naive service's Redis hashes from a Palate data dir (its "nightly batch job").

The feature values come from Palate's own feature service, warmed from the event log exactly
as ``palate serve`` warms its memory store, read as of one moment (the bench's request time),
so the naive service feeds the model the same numbers Palate does:

- ``<prefix>:venue:<id>``: location, delivery radius, status, time zone, opening hours, the
  source attributes as Palate's index holds them, every behavioural column as an anonymous
  visitor sees it, and the venue's embedding (JSON) when the promoted model has one;
- ``<prefix>:user:<id>`` for the bench's customers: their price mean and time-of-day share,
  their embedding, and ``v:<venue_id>`` → JSON of their own columns where those differ from
  the anonymous ones (customer × venue history, cuisine and category affinity);
- ``<prefix>:venues``: the set of venue ids.

Run from the repository root::

    python -m benchmarks.naive_service.loader --data DIR --redis-url URL --prefix P
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import redis

from benchmarks.naive_service.app import (
    OVERRIDE,
    PRICE_LEVELS_SPAN,
    user_key,
    venue_key,
    venues_key,
)
from palate.bench.scenarios import USERS, WHEN
from palate.ranking.embedding_features import EMBEDDINGS_DIR, load_venue_factors, rows_of
from palate.ranking.model_store import FileModelStore
from palate.serving.state import ServingState, load_state
from palate.settings import Settings

USER_VENUE_COLUMNS = (
    "cv_orders",
    "cv_days_since",
    "cv_recency",
    "cuisine_affinity",
    "category_affinity",
)
USER_SCALARS = ("price_mean", "tod_share")
FloatArray = npt.NDArray[np.float64]


def load(
    data_dir: Path, client: redis.Redis, prefix: str, as_of: datetime, users: int = USERS
) -> dict[str, int]:
    """Write every hash; the counts of venues, customers and per-venue overrides written."""
    state = load_state(Settings(data={"dir": data_dir}, redis={"url": ""}), data_dir)
    venue_ids = [str(v) for v in state.index.venue_ids]
    anonymous = state.features.venue_features(None, venue_ids, as_of)
    factors = _factors(data_dir)
    pipe = client.pipeline(transaction=False)
    for row, fields in enumerate(_venue_rows(state, anonymous, factors)):
        pipe.hset(venue_key(prefix, venue_ids[row]), mapping=fields)
    pipe.sadd(venues_key(prefix), *venue_ids)
    pipe.execute()
    levels = state.index.columns.price_level.astype(np.float64)
    overrides = 0
    for user_id in sorted(state.catalog.customers)[:users]:
        mine = state.features.venue_features(user_id, venue_ids, as_of)
        fields = _user_fields(user_id, venue_ids, levels, anonymous, mine, factors)
        overrides += sum(name.startswith(OVERRIDE) for name in fields)
        pipe.hset(user_key(prefix, user_id), mapping=fields)
        pipe.execute()
    written = min(users, len(state.catalog.customers))
    return {"venues": len(venue_ids), "users": written, "overrides": overrides}


def _factors(data_dir: Path) -> Any:
    version = FileModelStore.in_data_dir(data_dir).current("venue_ranker")
    return None if version is None else load_venue_factors(version.path / EMBEDDINGS_DIR)


def _venue_rows(
    state: ServingState, anonymous: Mapping[str, FloatArray], factors: Any
) -> list[dict[str, str]]:
    """The hash of every venue, in index order."""
    columns, index = state.index.columns, state.index
    zones = columns.timezone.vocabulary
    rows_in_factors = (
        None if factors is None else rows_of(factors.entity_ids, index.venue_ids.astype(str))
    )
    out = []
    for row, venue_id in enumerate(index.venue_ids):
        venue = state.catalog.venues[str(venue_id)]
        fields = {
            "lat": repr(venue.location.lat),
            "lon": repr(venue.location.lon),
            "delivery_radius_m": repr(float(venue.delivery_radius_m)),
            "status": str(venue.status.value),
            "timezone": str(zones[columns.timezone.codes[row]]),
            "hours": json.dumps(venue.opening_hours.intervals),
            "rating": repr(float(columns.rating[row])),
            "rating_count": repr(float(columns.rating_count[row])),
            "prep_time_min": repr(float(columns.prep_time_min[row])),
            "price_level": repr(float(columns.price_level[row])),
        }
        fields |= {name: repr(float(values[row])) for name, values in anonymous.items()}
        if rows_in_factors is not None and rows_in_factors[row] >= 0:
            fields["emb"] = _vector(factors.entity_factors[rows_in_factors[row]])
        out.append(fields)
    return out


def _user_fields(
    user_id: str,
    venue_ids: Sequence[str],
    levels: FloatArray,
    anonymous: Mapping[str, FloatArray],
    mine: Mapping[str, FloatArray],
    factors: Any,
) -> dict[str, str]:
    """A customer's scalars, embedding and per-venue overrides; checks the price-fit formula."""
    fields = {name: repr(float(mine[name][0])) for name in USER_SCALARS}
    differs = np.zeros(len(venue_ids), dtype=bool)
    for name in USER_VENUE_COLUMNS:
        differs |= mine[name] != anonymous[name]
    for row in np.flatnonzero(differs):
        values = {name: float(mine[name][row]) for name in USER_VENUE_COLUMNS}
        fields[f"{OVERRIDE}{venue_ids[row]}"] = json.dumps(values)
    _check_reconstruction(user_id, levels, anonymous, mine)
    if factors is not None and (row := int(rows_of(factors.user_ids, [user_id])[0])) >= 0:
        fields["emb"] = _vector(factors.user_factors[row])
    return fields


def _check_reconstruction(
    user_id: str,
    levels: FloatArray,
    anonymous: Mapping[str, FloatArray],
    mine: Mapping[str, FloatArray],
) -> None:
    """Fail loudly if the naive service would not rebuild this customer's columns exactly."""
    personal = {*USER_VENUE_COLUMNS, *USER_SCALARS, "price_fit"}
    changed = [n for n in mine if n not in personal and not np.array_equal(mine[n], anonymous[n])]
    if changed:
        raise RuntimeError(f"{user_id}: columns {changed} are personal; teach the naive service")
    fit = np.nan_to_num(1.0 - np.abs(levels - mine["price_mean"]) / PRICE_LEVELS_SPAN)
    if not np.array_equal(fit, mine["price_fit"]):
        raise RuntimeError(f"{user_id}: the naive price-fit formula no longer matches Palate's")


def _vector(values: npt.NDArray[np.float32]) -> str:
    """float32 values as JSON that round-trips to the same float32s."""
    return json.dumps([float(v) for v in values])


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m benchmarks.naive_service.loader --data ... --prefix ...``"""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--as-of", default=WHEN, help="feature snapshot moment (ISO 8601)")
    parser.add_argument("--users", type=int, default=USERS, help="first N customers (sorted)")
    args = parser.parse_args(argv)
    as_of = datetime.fromisoformat(args.as_of.replace("Z", "+00:00"))
    counts = load(args.data, redis.Redis.from_url(args.redis_url), args.prefix, as_of, args.users)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
