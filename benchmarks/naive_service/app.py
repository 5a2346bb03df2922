"""The naive reference Discovery service: what a team would write first (issue 6, baseline 2b).

FastAPI with pydantic request and response models, pandas for everything, native LightGBM
(``Booster.predict`` on a DataFrame) and one Redis hash per venue fetched with ``HGETALL``
per candidate. It ranks the same candidates as Palate's Discovery (venues whose delivery disc
covers the request point, open at the request's local time, not paused) with the same promoted
model, so ``palate bench --baseline naive`` can report Palate's throughput as a ratio of it.
It is a baseline kept in ``benchmarks/``, not shipped, and imports nothing from Palate.

Its features are a snapshot written by :mod:`benchmarks.naive_service.loader` (the "nightly
batch job"): per venue, its attributes and every behavioural column as an anonymous visitor
sees it; per customer, the columns that differ for them. Distance, ETA, the local clock, the
price fit and the embedding dot product are computed per request. Run it from the repository
root::

    python -m benchmarks.naive_service.app --data DIR --redis-url URL --prefix P --port 8001
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lightgbm as lgb
import numpy as np
import pandas as pd
import redis
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field

EARTH_RADIUS_M = 6_371_008.8
EDGE_TOLERANCE_M = 1e-6  # Palate includes the disc's edge up to a micrometre
COURIER_KM_PER_MIN = 0.25
PRICE_LEVELS_SPAN = 3.0
MINUTES_PER_DAY = 1_440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
MODEL_NAME = "venue_ranker"
OVERRIDE = "v:"  # a customer's hash field ``v:<venue_id>``: JSON of their own columns there
CATALOG_FIELDS = ("lat", "lon", "delivery_radius_m", "status", "timezone", "hours")


def venue_key(prefix: str, venue_id: str) -> str:
    """The Redis hash of one venue."""
    return f"{prefix}:venue:{venue_id}"


def user_key(prefix: str, user_id: str) -> str:
    """The Redis hash of one customer."""
    return f"{prefix}:user:{user_id}"


def venues_key(prefix: str) -> str:
    """The Redis set of every venue id."""
    return f"{prefix}:venues"


class LocationIn(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class DiscoveryRequest(BaseModel):
    """The body of Palate's ``POST /v1/discovery`` (trace and explain are ignored)."""

    user_id: str = Field(min_length=1, max_length=128)
    location: LocationIn
    time: datetime | None = None
    limit: int | None = Field(default=None, ge=1)
    trace: bool = False
    explain: bool = False


class RankedVenue(BaseModel):
    venue_id: str
    score: float
    distance_m: float


class DiscoveryResponse(BaseModel):
    venues: list[RankedVenue]
    candidates: int
    scorer: str = "lightgbm"


def promoted_model(data_dir: Path) -> tuple[lgb.Booster, list[str]]:
    """The promoted ranker of Palate's model registry and its feature order."""
    root = data_dir / "models" / MODEL_NAME
    version = json.loads((root / "current.json").read_text())["current"]
    metadata = json.loads((root / version / "metadata.json").read_text())
    return lgb.Booster(model_file=str(root / version / "model.txt")), list(metadata["features"])


def load_venues(client: redis.Redis, prefix: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every venue's location, radius, status and zone, and its opening intervals (long)."""
    ids = sorted(client.smembers(venues_key(prefix)))
    pipe = client.pipeline(transaction=False)
    for venue_id in ids:
        pipe.hmget(venue_key(prefix, venue_id), list(CATALOG_FIELDS))
    venues = pd.DataFrame(pipe.execute(), columns=list(CATALOG_FIELDS))
    venues.insert(0, "venue_id", ids)
    for column in ("lat", "lon", "delivery_radius_m"):
        venues[column] = venues[column].astype(float)
    intervals = [
        (venue_id, start, end)
        for venue_id, hours in zip(venues["venue_id"], venues.pop("hours"), strict=True)
        for start, end in json.loads(hours)
    ]
    return venues, pd.DataFrame(intervals, columns=["venue_id", "start", "end"])


def haversine_m(lat: pd.Series, lon: pd.Series, at_lat: float, at_lon: float) -> pd.Series:
    """Great-circle metres from every venue to the request point."""
    lat1, lon1, lat2, lon2 = (
        np.radians(lat),
        np.radians(lon),
        np.radians(at_lat),
        np.radians(at_lon),
    )
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


def minute_of_week(when: datetime, zone: str) -> int:
    """Minutes since Monday 00:00 local time."""
    local = when.astimezone(ZoneInfo(zone))
    return local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute


class NaiveRanker:
    """Candidates, features and the model, the straightforward way."""

    def __init__(self, client: redis.Redis, prefix: str, data_dir: Path) -> None:
        self.client, self.prefix = client, prefix
        self.venues, self.hours = load_venues(client, prefix)
        self.booster, self.features = promoted_model(data_dir)

    def candidates(self, lat: float, lon: float, when: datetime) -> pd.DataFrame:
        """Venues delivering to the point, open now, not paused; with distance and local minute."""
        venues = self.venues.copy()
        venues["distance_m"] = haversine_m(venues["lat"], venues["lon"], lat, lon)
        near = venues[
            (venues["distance_m"] <= venues["delivery_radius_m"] + EDGE_TOLERANCE_M)
            & (venues["status"] != "paused")
        ].copy()
        clocks = {zone: minute_of_week(when, zone) for zone in near["timezone"].unique()}
        near["minute"] = near["timezone"].map(clocks)
        hours = self.hours.merge(near[["venue_id", "minute"]], on="venue_id")
        minute, wrapped = hours["minute"], hours["minute"] + MINUTES_PER_WEEK
        is_open = ((hours["start"] <= minute) & (minute < hours["end"])) | (
            (hours["start"] <= wrapped) & (wrapped < hours["end"])
        )
        return near[near["venue_id"].isin(hours.loc[is_open, "venue_id"])].reset_index(drop=True)

    def features_of(self, user_id: str, candidates: pd.DataFrame) -> pd.DataFrame:
        """One HGETALL per candidate venue and one for the customer; the model's columns."""
        pipe = self.client.pipeline(transaction=False)
        for venue_id in candidates["venue_id"]:
            pipe.hgetall(venue_key(self.prefix, venue_id))
        pipe.hgetall(user_key(self.prefix, user_id))
        *venue_hashes, user_hash = pipe.execute()
        frame = pd.DataFrame.from_records(venue_hashes).drop(columns=list(CATALOG_FIELDS))
        frame.index = candidates["venue_id"].to_numpy()
        user: dict[str, str] = user_hash
        embeddings = frame.pop("emb") if "emb" in frame else pd.Series(np.nan, index=frame.index)
        frame = frame.apply(pd.to_numeric)
        frame["distance_m"] = candidates["distance_m"].to_numpy()
        frame["eta_min"] = (
            frame["prep_time_min"] + frame["distance_m"] / 1000.0 / COURIER_KM_PER_MIN
        )
        minute = candidates["minute"].to_numpy()
        frame["local_hour"] = ((minute % MINUTES_PER_DAY) // 60).astype(float)
        frame["local_weekday"] = (minute // MINUTES_PER_DAY).astype(float)
        frame["is_weekend"] = (frame["local_weekday"] >= 5).astype(float)
        self._personalise(frame, user)
        frame["emb_score"] = embedding_scores(embeddings, user.get("emb"))
        return frame

    @staticmethod
    def _personalise(frame: pd.DataFrame, user: dict[str, str]) -> None:
        """The customer's own columns over the anonymous ones, and the price fit."""
        for column in ("price_mean", "tod_share"):
            if column in user:
                frame[column] = float(user[column])
        overrides = {
            field[len(OVERRIDE) :]: json.loads(value)
            for field, value in user.items()
            if field.startswith(OVERRIDE)
        }
        if overrides:
            frame.update(pd.DataFrame.from_dict(overrides, orient="index"))
        fit = 1.0 - (frame["price_level"] - frame["price_mean"]).abs() / PRICE_LEVELS_SPAN
        frame["price_fit"] = fit.fillna(0.0)

    def rank(self, request: DiscoveryRequest) -> DiscoveryResponse:
        """The ranked venues for one request."""
        when = request.time or datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        candidates = self.candidates(request.location.lat, request.location.lon, when)
        if candidates.empty:
            return DiscoveryResponse(venues=[], candidates=0)
        features = self.features_of(request.user_id, candidates)
        scored = candidates[["venue_id", "distance_m"]].copy()
        scored["score"] = self.booster.predict(features[self.features])
        top = scored.sort_values("score", ascending=False, kind="stable").head(request.limit or 50)
        venues = [RankedVenue(**row) for row in top.to_dict(orient="records")]
        return DiscoveryResponse(venues=venues, candidates=len(candidates))


def embedding_scores(venue_vectors: pd.Series, user_vector: str | None) -> np.ndarray:
    """Customer · venue dot products in float32 (0 for a stranger or an unknown venue)."""
    out = np.zeros(len(venue_vectors))
    if user_vector is None:
        return out
    user = np.asarray(json.loads(user_vector), dtype=np.float32)
    known = venue_vectors.notna().to_numpy()
    if known.any():
        matrix = np.array([json.loads(v) for v in venue_vectors[known]], dtype=np.float32)
        out[known] = matrix @ user
    return out


def create_app(client: redis.Redis, prefix: str, data_dir: Path) -> FastAPI:
    """The service over the hashes under ``prefix``."""
    app = FastAPI(title="naive discovery")
    ranker = NaiveRanker(client, prefix, data_dir)

    @app.get("/readyz")
    def ready() -> dict[str, Any]:
        return {"ready": True, "venues": len(ranker.venues)}

    @app.post("/v1/discovery", response_model=DiscoveryResponse)
    def discovery(request: DiscoveryRequest) -> DiscoveryResponse:
        return ranker.rank(request)

    return app


def app_from_env() -> FastAPI:
    """The app configured by ``NAIVE_*`` variables (what each uvicorn worker builds)."""
    client = redis.Redis.from_url(os.environ["NAIVE_REDIS_URL"], decode_responses=True)
    return create_app(client, os.environ["NAIVE_PREFIX"], Path(os.environ["NAIVE_DATA"]))


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m benchmarks.naive_service.app --data ... --prefix ... --port ...``"""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="Palate data dir (its models)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--prefix", required=True, help="key prefix the loader wrote under")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ |= {
        "NAIVE_DATA": str(args.data.resolve()),
        "NAIVE_REDIS_URL": args.redis_url,
        "NAIVE_PREFIX": args.prefix,
    }
    uvicorn.run(
        f"{__spec__.name if __spec__ else 'app'}:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
