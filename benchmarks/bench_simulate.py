"""Wall time of simulating 20,000 customers over 60 days in one city (target: under a minute).

Run with ``pytest benchmarks/bench_simulate.py -m benchmark -s``; prints the time and the
summary of the run.
"""

from __future__ import annotations

import time

import pytest

from palate.simulate import SimulationConfig, simulate, summarize

CONFIG = SimulationConfig(customers=20_000, days=60)
BUDGET_S = 60.0


@pytest.mark.benchmark
def test_simulate_20k_customers_60_days() -> None:
    started = time.perf_counter()
    result = simulate(CONFIG)
    elapsed = time.perf_counter() - started
    summary = summarize(result)
    print(f"\nsimulate({CONFIG.customers:,} customers x {CONFIG.days} days): {elapsed:.1f}s")
    print(f"{result.events.num_rows:,} events, {result.events.nbytes / 1e6:,.0f} MB in memory")
    print(summary.format())
    assert elapsed < BUDGET_S
    assert 0.4 <= summary.repeat_share <= 0.65
