"""Where a Discovery request's CPU goes, stage by stage, in one process (``palate bench --stages``).

The server's figures include HTTP, the event loop and a noisy neighbour (the load generator
shares the cores). This loads the bench data exactly as a server worker does (catalog, warmed
features, the promoted model), then runs the Discovery handler's own work — pipeline, response
rows, JSON — for the bench target, cycling its customers, and reports the CPU time
of the handling thread per request, each stage's mean from the run's trace, and the whole
process's CPU per request (background feature rebuilds included). The ranking
kernel alone is timed in the same process right after, so the ratio survives a busy machine.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from palate.bench.report import model_quality
from palate.bench.scenarios import WHEN, kernel_timing, target_from
from palate.domain.geo import Location
from palate.domain.requests import RankingRequest
from palate.settings import Settings

DISCOVERY_LIMIT = 50


def stage_profile(
    data_dir: Path, *, runs: int = 1_000, warmup: int = 50, model_name: str = "venue_ranker"
) -> dict[str, Any]:
    """CPU per Discovery request and per stage, with the kernel's time from the same process."""
    from palate.serving.app import model_watcher
    from palate.serving.discovery import ranked_venues, run_discovery
    from palate.serving.state import load_state

    settings = Settings(data={"dir": data_dir})
    state = load_state(settings, data_dir)
    model_watcher(settings, state).poll()
    target = target_from(state.catalog, "in-process")
    when = datetime.fromisoformat(WHEN)
    requests = [
        RankingRequest(user, Location(target.centre.lat, target.centre.lon), when, DISCOVERY_LIMIT)
        for user in target.users
    ]

    def handle(request: RankingRequest) -> tuple[str, dict[str, float]]:
        result = run_discovery(state, settings, request)
        orjson.dumps({"venues": ranked_venues(state, result, request.limit)})
        return result.scorer, {s.stage: s.duration_us for s in result.trace.stages}

    for k in range(warmup):
        handle(requests[k % len(requests)])
    per_stage: dict[str, list[float]] = defaultdict(list)
    cpu_us = np.empty(runs)
    scorers: set[str] = set()
    process_started = time.process_time_ns()
    for k in range(runs):
        started = time.thread_time_ns()
        scorer, stages = handle(requests[k % len(requests)])
        cpu_us[k] = (time.thread_time_ns() - started) / 1_000
        scorers.add(scorer)
        for stage, micros in stages.items():
            per_stage[stage].append(micros)
    process_us = (time.process_time_ns() - process_started) / 1_000 / runs
    kernel = kernel_timing(data_dir, model_name)
    report = _report(cpu_us, per_stage, kernel, scorers, len(state.index.venue_ids))
    return report | {"process_cpu_us_per_request": round(process_us, 1)}


def _report(
    cpu_us: np.ndarray,
    per_stage: dict[str, list[float]],
    kernel: dict[str, Any],
    scorers: set[str],
    venues: int,
) -> dict[str, Any]:
    mean = float(cpu_us.mean())
    return {
        "runs": len(cpu_us),
        "venues": venues,
        "scorers": sorted(scorers),
        "cpu_us_mean": round(mean, 1),
        "cpu_us_p50": round(float(np.percentile(cpu_us, 50)), 1),
        "cpu_us_p99": round(float(np.percentile(cpu_us, 99)), 1),
        "stages_us": {stage: round(float(np.mean(xs)), 1) for stage, xs in per_stage.items()},
        "kernel": kernel,
        "cpu_vs_kernel": round(mean / kernel["mean_us"], 2),
    }


def stages_markdown(report: dict[str, Any]) -> str:
    """The stage table and the ratio to the kernel, for the terminal and docs."""
    lines = [
        f"Discovery in process, {report['runs']} runs over {report['venues']} venues "
        f"(scorer: {', '.join(report['scorers'])}):",
        "",
        "| stage | mean µs |",
        "|---|---:|",
        *(f"| {stage} | {micros:,.1f} |" for stage, micros in report["stages_us"].items()),
        f"| **whole request (CPU: pipeline, response rows, JSON)** "
        f"| **{report['cpu_us_mean']:,.1f}** |",
        "",
        f"CPU p50 {report['cpu_us_p50']:,.1f} µs, p99 {report['cpu_us_p99']:,.1f} µs; "
        f"with background work {report['process_cpu_us_per_request']:,.1f} µs; "
        f"ranking kernel alone mean {report['kernel']['mean_us']:,.1f} µs "
        f"→ request ÷ kernel **{report['cpu_vs_kernel']}×**",
        "",
        f"Served model, offline: {model_quality(report['kernel'])}.",
    ]
    return "\n".join(lines)
