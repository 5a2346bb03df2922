"""Training time of embeddings, co-purchase and cold-start priors on a 20,000-customer, 60-day log.

Run with ``pytest benchmarks/bench_embeddings.py -m benchmark -s``. Prints (does not assert)
the wall time of each step from the simulator's Arrow table, with ALS on one solver thread and
on every core, the peak memory, and the latency of the serving calls (scores and top-k over a
city's venues, complements over a menu).
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pyarrow.compute as pc
import pytest

from palate.simulate import SimulationConfig, simulate
from palate.training.copurchase import CoPurchase
from palate.training.embeddings import (
    AlsParams,
    FeedbackWeights,
    fit_als,
    interactions,
    train_item_embeddings,
    venue_feedback,
)
from palate.training.priors import HierarchicalPopularity

CONFIG = SimulationConfig(customers=20_000, days=60)
T = TypeVar("T")


def timed(label: str, step: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = step()
    print(f"  {label:<46} {time.perf_counter() - started:7.2f} s")
    return result


def latency(label: str, call: Callable[[], object], repeat: int = 2_000) -> None:
    started = time.perf_counter()
    for _ in range(repeat):
        call()
    print(f"  {label:<46} {(time.perf_counter() - started) / repeat * 1e6:7.0f} us")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.benchmark
def test_training_times_on_20k_customers_60_days() -> None:
    result = simulate(CONFIG)
    events = result.events
    orders = int(pc.sum(pc.equal(events.column("type"), "order")).as_py())
    print(f"\n{events.num_rows:,} events, {orders:,} orders, {os.cpu_count()} cores")
    print(f"  peak RSS after simulating: {peak_rss_mb():,.0f} MB")
    params, weights = AlsParams(), FeedbackWeights()
    feedback = timed("venue feedback rows", lambda: venue_feedback(events, weights.positive()))
    data = timed(
        "venue confidence matrix (group-by -> CSR)",
        lambda: interactions(
            feedback, weights=weights, alpha=params.alpha, half_life_days=params.half_life_days
        ),
    )
    shape, nnz = data.matrix.shape, data.matrix.nnz
    print(f"  venue matrix {shape[0]:,} x {shape[1]:,}, nnz {nnz:,}")
    venues = timed("venue ALS fit, 1 solver thread", lambda: fit_als(data, params, "venue"))
    timed("venue ALS fit, all cores", lambda: fit_als(data, AlsParams(threads=0), "venue"))
    items = timed("item embeddings end to end, 1 thread", lambda: train_item_embeddings(events))
    print(f"  item matrix {len(items.user_ids):,} x {len(items.entity_ids):,}")
    copurchase = timed("co-purchase fit", lambda: CoPurchase.fit(events))
    print(f"  co-purchase: {copurchase.counts.nnz:,} same-venue pairs")
    catalog = result.catalog
    timed(
        "hierarchical priors fit",
        lambda: HierarchicalPopularity.fit(
            events,
            {v.id: v.city_id for v in catalog.venues.values()},
            {c.id: c.market_id for c in catalog.cities.values()},
            venue_cuisine={v.id: v.cuisines[0] for v in catalog.venues.values() if v.cuisines},
        ),
    )
    print(f"  peak RSS after training: {peak_rss_mb():,.0f} MB")
    user, city = str(venues.user_ids[0]), np.array(sorted(catalog.venues))
    latency(f"scores(1 customer, {len(city)} venues)", lambda: venues.scores(user, city))
    latency(f"top_k(20 of {len(city)} venues)", lambda: venues.top_k(user, city, 20))
    venue = str(copurchase.venue_ids[0])
    menu = [item.id for item in catalog.items_of(venue)]
    latency(
        f"complements(3 in basket, {len(menu)} candidates)",
        lambda: copurchase.complements(venue, menu[:3], menu),
    )
