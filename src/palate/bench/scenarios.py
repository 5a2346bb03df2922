"""What ``palate bench`` sends: the request bodies of each scenario, and the in-process kernel.

Bodies are pre-encoded HTTP/1.1 bytes (see :mod:`palate.serving.loadgen`) built from the
catalog being served: the city centre on a Friday evening (where Discovery sees ~1,000
deliverable venues on the bench's marketplace), the venue with the largest menu, a two-line
cart of that venue and its most common category. Users vary across a pool so per-user
lookups are not one hot key.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from palate.domain.catalog import Catalog
from palate.domain.geo import Location
from palate.domain.requests import RankingRequest
from palate.pipeline.candidates import Candidates
from palate.ranking.heuristic import HeuristicScorer, HeuristicWeights
from palate.ranking.learned import LearnedScorer, StaticModel, load_model
from palate.ranking.model_store import FileModelStore
from palate.serving.loadgen import encode_post

WHEN = "2026-09-18T16:30:00Z"  # a Friday, 19:30 in Helsinki: dinner, most venues open
USERS = 256
SCENARIOS = ("discovery", "category", "venue_items", "cart", "banners", "events")
HEALTHZ = "healthz"


@dataclass(frozen=True, slots=True)
class BenchTarget:
    """Where in the served catalog the scenarios point."""

    host: str
    centre: Location
    users: tuple[str, ...]
    venue_id: str
    menu_size: int
    cart_lines: tuple[str, ...]
    category: str

    def describe(self) -> dict[str, Any]:
        """The choices, for the report."""
        return {
            "centre": [self.centre.lat, self.centre.lon],
            "time": WHEN,
            "venue_items": {"venue_id": self.venue_id, "menu_size": self.menu_size},
            "cart_lines": len(self.cart_lines),
            "category": self.category,
        }


def target_from(catalog: Catalog, host: str) -> BenchTarget:
    """Targets in ``catalog``: its first city's centre, largest menu and commonest category."""
    menus = Counter(item.venue_id for item in catalog.items.values())
    venue_id, menu_size = max(menus.items(), key=lambda kv: (kv[1], kv[0]))
    lines = tuple(item.id for item in catalog.items_of(venue_id) if item.available)[:2]
    categories = Counter(c for v in catalog.venues.values() for c in v.categories)
    customers = tuple(sorted(catalog.customers))[:USERS] or ("bench-user",)
    return BenchTarget(
        host=host,
        centre=next(iter(catalog.cities.values())).center,
        users=customers,
        venue_id=venue_id,
        menu_size=menu_size,
        cart_lines=lines,
        category=categories.most_common(1)[0][0],
    )


def encode_get(host: str, path: str) -> bytes:
    """One keep-alive ``GET`` as bytes on the wire.

    >>> encode_get("h", "/healthz").split(b"\\r\\n")[0]
    b'GET /healthz HTTP/1.1'
    """
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()


def _located(target: BenchTarget, user: str, limit: int) -> dict[str, Any]:
    where = {"lat": target.centre.lat, "lon": target.centre.lon}
    return {"user_id": user, "location": where, "time": WHEN, "limit": limit}


def _post(target: BenchTarget, path: str, body: dict[str, Any]) -> bytes:
    return encode_post(target.host, path, orjson.dumps(body))


def _event(user: str, tag: str, n: int, venue_id: str, target: BenchTarget) -> dict[str, Any]:
    return {
        "type": "impression",
        "event_id": f"bench-{tag}-{n}",
        "user_id": user,
        "ts": WHEN,
        "location": {"lat": target.centre.lat, "lon": target.centre.lon},
        "request_id": f"bench-{tag}-r{n}",
        "premise": "discovery",
        "entity_kind": "venue",
        "entity_id": venue_id,
        "position": n % 20,
    }


def _bodies(name: str, target: BenchTarget, user: str, n: int, tag: str) -> bytes:
    if name == "discovery":
        return _post(target, "/v1/discovery", _located(target, user, 50))
    if name == "category":
        body = _located(target, user, 50) | {"category": target.category}
        return _post(target, "/v1/category", body)
    if name == "venue_items":
        body = {"user_id": user, "time": WHEN, "limit": 500}
        return _post(target, f"/v1/venues/{target.venue_id}/items", body)
    if name == "cart":
        lines = [{"item_id": i, "quantity": 1} for i in target.cart_lines]
        body = {"user_id": user, "venue_id": target.venue_id, "lines": lines, "time": WHEN}
        return _post(target, "/v1/cart/recommendations", body | {"limit": 5})
    if name == "banners":
        return _post(target, "/v1/banners", _located(target, user, 10))
    if name == "events":
        event = _event(user, tag, n, target.venue_id, target)
        return _post(target, "/v1/events", {"events": [event]})
    if name == HEALTHZ:
        return encode_get(target.host, "/healthz")
    raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")


def requests_for(name: str, target: BenchTarget, count: int, tag: str) -> list[bytes]:
    """``count`` requests of scenario ``name`` (events get ids unique per ``tag``)."""
    pool = count if name == "events" else min(count, len(target.users))
    return [_bodies(name, target, target.users[n % len(target.users)], n, tag) for n in range(pool)]


def kernel_timing(
    data_dir: Path,
    model_name: str,
    *,
    candidates: int = 1_000,
    top_k: int = 200,
    calls: int = 2_000,
) -> dict[str, Any]:
    """Microseconds per call of the ranking kernel alone, in this process.

    Stage 1 (the heuristic) over ``candidates`` venues, then the promoted model's compiled
    GBDT on the top ``top_k``: the work Discovery's learned stage does, without HTTP,
    validation, retrieval, features or rules. Feature values are synthetic; tree walks
    barely depend on them.
    """
    version = FileModelStore.in_data_dir(data_dir).current(model_name)
    if version is None:
        raise RuntimeError(f"no promoted {model_name!r} model in {data_dir}")
    loaded = load_model(version)
    scorer = LearnedScorer(StaticModel(loaded), HeuristicScorer(HeuristicWeights()), top_k=top_k)
    rng = np.random.default_rng(0)
    sets = [_synthetic(rng, candidates, loaded.features) for _ in range(16)]
    request = RankingRequest("u1", Location(60.17, 24.94), datetime(2026, 9, 18, tzinfo=UTC), 50)
    micros = _timed(lambda c: scorer.score(request, c), sets, calls)
    p50, p99 = np.percentile(micros, [50, 99])
    return {
        "candidates": candidates,
        "top_k": top_k,
        "model": version.label,
        "backend": loaded.predictor.backend,
        # the served model's offline quality, reported beside the speed it is served at
        "offline_metrics": {k: round(float(v), 4) for k, v in version.metrics.items()},
        "p50_us": round(float(p50), 1),
        "p99_us": round(float(p99), 1),
        "mean_us": round(float(micros.mean()), 1),
    }


def _synthetic(rng: np.random.Generator, n: int, features: tuple[str, ...]) -> Candidates:
    known: dict[str, npt.NDArray[np.float64]] = {
        "distance_m": rng.uniform(0, 6_000, n),
        "prep_time_min": rng.uniform(5, 40, n),
        "rating": rng.uniform(3.0, 5.0, n),
        "rating_count": rng.integers(0, 500, n).astype(np.float64),
        "pop_orders_7d": rng.poisson(30, n).astype(np.float64),
        "cv_orders": np.where(rng.random(n) < 0.1, rng.integers(1, 6, n), 0).astype(np.float64),
    }
    names = set(features) | set(known)
    columns = {f: known[f] if f in known else rng.normal(size=n) for f in names}
    return Candidates(rng.permutation(10 * n)[:n].astype(np.int32), columns)


def _timed(
    run: Callable[[Candidates], object], sets: list[Candidates], calls: int
) -> npt.NDArray[np.float64]:
    for candidate_set in sets:  # warm caches before timing
        run(candidate_set)
    out = np.empty(calls)
    for k in range(calls):
        start = time.perf_counter_ns()
        run(sets[k % len(sets)])
        out[k] = (time.perf_counter_ns() - start) / 1_000
    return out
