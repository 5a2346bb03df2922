"""A short ``palate bench``: every scenario, the healthz ceiling and the ranking kernel, one run.

Run with ``pytest benchmarks/bench_suite.py -m benchmark -s``. It simulates the bench
marketplace (~1,000 venues deliverable at the centre), trains and promotes the demo ranker,
starts a production-like server (one worker, BLAS/OpenMP pinned to one thread) and sends
each scenario at 100, 200 and 400 requests/s for 2 s. The full run is ``palate bench``; this
one checks the harness end to end and prints the same tables.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from palate.bench.runner import BenchConfig, report_markdown, run_bench, write_report
from palate.bench.scenarios import HEALTHZ, SCENARIOS


@pytest.mark.benchmark
def test_bench_suite_short(tmp_path: Path) -> None:
    config = BenchConfig(tmp_path / "data", rates=(100.0, 200.0, 400.0), duration_s=2.0)
    report = run_bench(config)
    write_report(report, tmp_path / "bench.json")
    print()
    print(report_markdown(report))
    assert [s["scenario"] for s in report["scenarios"]] == [HEALTHZ, *SCENARIOS]
    health = report["scenarios"][0]
    if health["max_sustained_rate"] < 100:
        pytest.fail("GET /healthz cannot hold 100/s within the p99 budget: the machine is swamped")
