"""Latency of the two-stage ranking kernel: stage 1 over 1,000 candidates, the GBDT on the top 200.

Run with ``pytest benchmarks/bench_ranking_kernel.py -m benchmark -s``. The model is a
LambdaMART of 300 trees with 31 leaves over 30 features, trained on synthetic queries. The same
``LearnedScorer`` calls run with the lleaves-compiled trees and with LightGBM's own predictor
(one thread each, as in serving), measured in the same run on the same candidate sets, plus a
breakdown of the kernel's parts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import numpy.typing as npt
import pytest
from tests.ranking.gbdt_models import candidates, register_ranker, train_ranker

from palate.domain.geo import Location
from palate.domain.requests import RankingRequest
from palate.pipeline import Candidates
from palate.ranking.heuristic import HEURISTIC_FEATURES, HeuristicScorer, HeuristicWeights
from palate.ranking.learned import LearnedScorer, StaticModel, feature_matrix, load_model
from palate.ranking.model_store import FileModelStore

N_CANDIDATES = 1_000
TOP_K = 200
N_TREES = 300
N_LEAVES = 31
FEATURES = (*HEURISTIC_FEATURES, *(f"embedding_{k}" for k in range(24)))
N_SETS = 64
N_CALLS = 3_000
REQUEST = RankingRequest("u1", Location(60.17, 24.94), datetime(2024, 3, 1, 19, tzinfo=UTC), 50)
Floats = npt.NDArray[np.float64]


def interleaved_us(
    runs: dict[str, Callable[[Candidates], object]], sets: list[Candidates], calls: int
) -> dict[str, Floats]:
    """Wall time per call in microseconds, the runs taking turns on the same candidate set.

    Taking turns exposes every run to the same background load, so ratios stay fair on a
    shared machine.
    """
    for candidate_set in sets:  # warm caches and branch predictors
        for run in runs.values():
            run(candidate_set)
    out = {name: np.empty(calls) for name in runs}
    for k in range(calls):
        candidate_set = sets[k % len(sets)]
        for name, run in runs.items():
            start = time.perf_counter_ns()
            run(candidate_set)
            out[name][k] = (time.perf_counter_ns() - start) / 1_000
    return out


def mean_depth(booster: lightgbm.Booster) -> float:
    """Average depth of the trees (their leaves' deepest level): what a prediction walks."""

    def depth(node: dict[str, Any]) -> int:
        if "leaf_index" in node:
            return 0
        return 1 + max(depth(node["left_child"]), depth(node["right_child"]))

    return float(np.mean([depth(t["tree_structure"]) for t in booster.dump_model()["tree_info"]]))


def summary(name: str, micros: Floats) -> str:
    p50, p99 = np.percentile(micros, [50, 99])
    return f"{name:<34} p50 {p50:8.1f} µs   p99 {p99:8.1f} µs"


@pytest.mark.benchmark
def test_two_stage_kernel_latency(tmp_path: Path) -> None:
    started = time.perf_counter()
    booster = train_ranker(
        seed=7, features=FEATURES, trees=N_TREES, leaves=N_LEAVES, queries=600, per_query=50
    )
    trained_s = time.perf_counter() - started
    started = time.perf_counter()
    version = register_ranker(FileModelStore(tmp_path), booster)  # compiles
    compiled_s = time.perf_counter() - started
    started = time.perf_counter()
    compiled = load_model(version)
    loaded_ms = (time.perf_counter() - started) * 1_000
    native = load_model(version, compiled=False)
    assert compiled.predictor.backend == "lleaves"

    rng = np.random.default_rng(11)
    sets = [candidates(rng, N_CANDIDATES, FEATURES) for _ in range(N_SETS)]
    heuristic = HeuristicScorer(HeuristicWeights())
    fast = LearnedScorer(StaticModel(compiled), heuristic, top_k=TOP_K)
    slow = LearnedScorer(StaticModel(native), heuristic, top_k=TOP_K)
    for candidate_set in sets:
        np.testing.assert_allclose(
            fast.score(REQUEST, candidate_set), slow.score(REQUEST, candidate_set), atol=1e-5
        )

    top_rows = np.argsort(-heuristic.score(REQUEST, sets[0]), kind="stable")[:TOP_K]
    matrix = feature_matrix(sets[0], FEATURES, top_rows)
    timings = interleaved_us(
        {
            "kernel, compiled (lleaves)": lambda c: fast.score(REQUEST, c),
            "kernel, native LightGBM": lambda c: slow.score(REQUEST, c),
            "  stage 1 (heuristic, 1,000)": lambda c: heuristic.score(REQUEST, c),
            "  feature matrix (200 x 30)": lambda c: feature_matrix(c, FEATURES, top_rows),
            "  lleaves predict (200 rows)": lambda _: compiled.predictor.predict(matrix),
            "  LightGBM predict (200 rows)": lambda _: native.predictor.predict(matrix),
        },
        sets,
        N_CALLS,
    )
    fast_us, slow_us = timings["kernel, compiled (lleaves)"], timings["kernel, native LightGBM"]
    ratio = np.median(slow_us) / np.median(fast_us)
    print()
    print(
        f"{N_TREES} trees x {N_LEAVES} leaves (mean depth {mean_depth(booster):.1f}), "
        f"{len(FEATURES)} features: trained in "
        f"{trained_s:.1f} s, compiled in {compiled_s:.1f} s, loaded from cache in "
        f"{loaded_ms:.0f} ms"
    )
    for name, micros in timings.items():
        print(summary(name, micros))
    print(f"native / compiled at p50: {ratio:.1f}x")
    if ratio <= 1.0:
        pytest.fail(f"compiled kernel is not faster than native LightGBM ({ratio:.2f}x)")
