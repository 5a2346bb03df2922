"""Train-and-register time at two event-log sizes in one run (target: 10M events in 10 minutes).

Run with ``pytest benchmarks/bench_training_scale.py -m benchmark -s``. Simulates a ~200k and a
~1M event log of one city, then runs ``palate train``'s workflow on each in a fresh child
process (no cached table or model) and prints the wall seconds per phase, the CPU seconds,
events per second and peak RSS of each, and the larger run's ratios to the smaller one. The
1M and 10M figures of docs/performance-training.png come from ``python -m
palate.bench.training_scale`` (see that module).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from palate.bench.training_scale import TrainingRun, measure, simulate_log

SMALL = (1_000, 42)  # customers, days: ~200k events
LARGE = (5_000, 42)  # ~1M events, the demo city


def _run(root: Path, name: str, customers: int, days: int) -> TrainingRun:
    simulate_log(root / name, customers, days)
    run = measure(root / name)
    print(f"  {name:<6}{run.format()}")
    return run


@pytest.mark.benchmark
def test_train_and_register_at_two_log_sizes(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("training-scale")
    print()
    small = _run(root, "small", *SMALL)
    large = _run(root, "large", *LARGE)
    events = large.events / small.events
    seconds = large.total_s / small.total_s
    print(
        f"  large/small: {events:.1f}x events, {seconds:.1f}x wall seconds, "
        f"{large.cpu_s / small.cpu_s:.1f}x CPU seconds, "
        f"{large.peak_rss_mb / small.peak_rss_mb:.1f}x peak RSS; "
        f"throughput {large.events_per_s:,.0f} vs {small.events_per_s:,.0f} events/s"
    )
    print(f"  extrapolated to 10M events: {large.total_s * 10e6 / large.events / 60:.1f} min")
    assert large.events > small.events
    assert large.ndcg_at_10 > 0.5  # a working model, not just a fast one
