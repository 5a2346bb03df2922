"""Offline: "For you" by embedding retrieval vs by popularity, on held-out first orders.

A simulated city is split in time; venue embeddings and popularity are fitted on the days
before the cut. Each held-out order at a venue the customer had never ordered from is a target
("For you" excludes venues ordered from: that is "Order again"). Both methods pick 10 of the
venues deliverable to the order's place at its time that the customer had not ordered from;
a hit is the ordered venue among them. Run: ``pytest benchmarks/bench_for_you_retrieval.py -s``.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from palate.catalog.index import VenueIndex
from palate.domain.geo import Location
from palate.pipeline.candidates import Candidates
from palate.premises.sections import Taste, for_you
from palate.simulate import SimulationConfig, simulate
from palate.training.embeddings import train_venue_embeddings

K = 10
HELD_OUT = timedelta(days=7)


@pytest.mark.benchmark
def test_for_you_hit_rate_embeddings_vs_popularity() -> None:
    world = simulate(SimulationConfig(seed=7, customers=3000, days=35))
    events, index = world.events, VenueIndex.build(world.catalog)
    ts = events.column("ts")
    cut = pc.max(ts).as_py() - HELD_OUT
    before = events.filter(pc.less(ts, pa.scalar(cut, ts.type)))
    factors = train_venue_embeddings(before, as_of=cut)
    orders = before.filter(pc.equal(before.column("type"), "order"))
    ordered: dict[str, set[str]] = {}
    for user, venue in zip(
        *(orders.column(c).to_pylist() for c in ("user_id", "venue_id")), strict=True
    ):
        ordered.setdefault(user, set()).add(venue)
    counts = pc.value_counts(orders.column("venue_id")).to_pylist()
    popularity = {c["values"]: c["counts"] for c in counts}
    venue_pop = np.array([popularity.get(v, 0) for v in index.venue_ids.tolist()], np.float64)
    after = events.filter(pc.greater_equal(ts, pa.scalar(cut, ts.type)))
    targets = after.filter(pc.equal(after.column("type"), "order")).to_pylist()
    hits: dict[str, list[bool]] = {"embedding": [], "popularity": [], "random": []}
    rng = np.random.default_rng(0)
    for order in targets:
        user, venue = order["user_id"], order["venue_id"]
        mine = ordered.get(user, set())
        if venue in mine or factors.user_vector(user) is None:
            continue
        found = index.deliverable(Location(order["lat"], order["lon"]), order["ts"])
        ids = index.venue_ids[found.indices]
        fresh = ~np.isin(ids, list(mine))
        if venue not in set(ids[fresh].tolist()):
            continue
        # Embedding "For you" over the deliverable venues, exactly as the sections endpoint runs it.
        candidates = Candidates(found.indices.astype(np.int32), {})
        near = for_you(candidates, index, fresh, Taste(user, factors))[:K]
        by_pop = np.flatnonzero(fresh)[np.argsort(-venue_pop[found.indices][fresh], kind="stable")]
        hits["embedding"].append(venue in set(ids[near].tolist()))
        hits["popularity"].append(venue in set(ids[by_pop[:K]].tolist()))
        picks = rng.choice(np.flatnonzero(fresh), min(K, int(fresh.sum())), replace=False)
        hits["random"].append(venue in set(ids[picks].tolist()))
    n = len(hits["embedding"])
    base = float(np.mean(hits["popularity"]))
    print(f"\nFor you HR@{K} on {n} held-out orders at venues new to the customer:")
    for name, values in hits.items():
        rate = float(np.mean(values))
        print(f"  {name:<11} {rate:.4f}  ({rate / base:.2f}x popularity)")
    assert n > 200
