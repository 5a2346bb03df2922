"""Next-basket evaluation of both real grocery datasets, as reported in docs/evaluation.md.

Run with ``pytest benchmarks/bench_next_basket.py -m benchmark -s``; prints each report and
its wall time, and checks the target: the re-ranker beats GP-TopFreq on Recall@10 on both.
Needs the public data in ``../shared/data`` (or ``$PALATE_SHARED_DATA``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from palate.training.next_basket.evaluate import run

DATASETS = {"instacart": "instacart-sample", "completejourney": "completejourney"}
BUDGET_S = 300.0  # both datasets, five splits each, import included


def _shared_data() -> Path:
    override = os.environ.get("PALATE_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.mark.benchmark
def test_next_basket_on_real_grocery_data(tmp_path: Path) -> None:
    started = time.perf_counter()
    for name, folder in DATASETS.items():
        source = _shared_data() / folder
        if not source.is_dir():
            pytest.skip(f"public dataset not available at {source}")
        dataset_started = time.perf_counter()
        report = run(name, source, tmp_path)
        print(f"\n{name}: {time.perf_counter() - dataset_started:.0f} s with the import")
        print(report.to_markdown())
        model = report.metric("LightGBM re-ranker", "Recall@10")
        assert model > report.metric("GP-TopFreq", "Recall@10")
    elapsed = time.perf_counter() - started
    print(f"both datasets: {elapsed:.0f} s")
    assert elapsed < BUDGET_S
