"""Scaling curves: Discovery latency against the number of candidates, throughput against workers.

Latency: a dense marketplace (the simulator with 20,000 venues in one city, ~10,800 of them
delivering to the centre and open on Friday evening) served with the bench's promoted model
(copied from the bench data dir, so both runs rank with one model). Request points are found
along a ray east of the centre where the number of open deliverable venues is closest to
each target (100, 1,000, 5,000, 10,000); each point is measured at one low constant rate, so
the figures are service latency rather than queueing. Throughput: the bench marketplace's
Discovery with 1 and then 2 workers, the open-loop rate ladder and (with ``wrk``) the closed
loop. Both go to one JSON and two PNGs (``performance-candidates.png``,
``performance-workers.png``) for ``docs/performance.md``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from palate.bench.runner import (
    BenchConfig,
    bench_server,
    prepare_data,
    run_closed_loop,
    simulate_into,
)
from palate.bench.runner import run_scenario as run_ladder
from palate.bench.scenarios import WHEN, target_from
from palate.domain.geo import Location

CURVE_CANDIDATES = (100, 1_000, 5_000, 10_000)
CURVES_VENUES_PER_CITY = 20_000
CURVES_CUSTOMERS = 1_000
CURVES_DAYS = 3
MAX_OFFSET_KM = 40.0
KM_PER_DEGREE_LAT = 111.32
Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class CurvesConfig:
    """What ``palate bench --curves`` runs; ``bench`` carries the store, duration, rates..."""

    bench: BenchConfig
    curves_dir: Path
    plots_dir: Path
    candidates: tuple[int, ...] = CURVE_CANDIDATES
    latency_rate: float = 20.0
    worker_counts: tuple[int, ...] = (1, 2)


def prepare_curves_data(curves_dir: Path, model_from: Path) -> str:
    """The dense marketplace, simulated unless present, with ``model_from``'s model registry."""
    from palate.ranking.model_store import MODELS_DIR

    notes = [simulate_into(curves_dir, CURVES_VENUES_PER_CITY, CURVES_CUSTOMERS, CURVES_DAYS)]
    if not (curves_dir / MODELS_DIR).exists():
        shutil.copytree(model_from / MODELS_DIR, curves_dir / MODELS_DIR)
        notes.append(f"copied the model registry of {model_from}")
    return "; ".join(note for note in notes if note) or f"reusing {curves_dir}"


def points_for(
    count_at: Callable[[Location], int], centre: Location, targets: Sequence[int]
) -> list[dict[str, Any]]:
    """For each target, the point east of ``centre`` whose candidate count is closest to it.

    >>> count = lambda where: int(10_000 * max(0.0, 1 - (where.lon - 24.0) * 10))
    >>> [p["candidates"] for p in points_for(count, Location(60.0, 24.0), [10_000, 5_000, 100])]
    [10000, 5000, 100]
    """
    degrees_per_km = 1 / (KM_PER_DEGREE_LAT * max(0.01, _cos_deg(centre.lat)))

    def at(km: float) -> Location:
        return Location(centre.lat, centre.lon + km * degrees_per_km)

    points = []
    for target in targets:
        low, high = 0.0, MAX_OFFSET_KM  # count(low) >= target > count(high), if anywhere
        for _ in range(30):
            middle = (low + high) / 2
            low, high = (middle, high) if count_at(at(middle)) >= target else (low, middle)
        best = min((low, high), key=lambda km: abs(count_at(at(km)) - target))
        where = at(best)
        points.append(
            {
                "target": target,
                "candidates": count_at(where),
                "offset_km": round(best, 3),
                "location": [where.lat, where.lon],
            }
        )
    return points


def _cos_deg(degrees: float) -> float:
    import math

    return math.cos(math.radians(degrees))


def latency_curve(config: CurvesConfig, echo: Echo) -> list[dict[str, Any]]:
    """p50/p99 of Discovery at each candidate count, at one low constant rate."""
    from palate.catalog.index import VenueIndex
    from palate.catalog.store import load_catalog

    catalog = load_catalog(config.curves_dir / "catalog")
    index = VenueIndex.build(catalog)
    when = datetime.fromisoformat(WHEN)
    points = points_for(
        lambda where: len(index.deliverable(where, when)),
        next(iter(catalog.cities.values())).center,
        config.candidates,
    )
    bench = replace(config.bench, data_dir=config.curves_dir, rates=(config.latency_rate,))
    rows = []
    with bench_server(bench) as server:
        target = target_from(catalog, f"{server.host}:{server.port}")
        for point in points:
            echo(f"discovery at {point['candidates']} candidates ...")
            where = replace(target, centre=Location(*point["location"]))
            entry = run_ladder(server, where, "discovery", bench)
            rows.append({**point, **entry["runs"][0], "peak_rss_mb": entry["peak_rss_mb"]})
    return rows


def workers_curve(config: CurvesConfig, echo: Echo) -> list[dict[str, Any]]:
    """Discovery's max rate in budget (open loop) and wrk throughput, per worker count."""
    from palate.catalog.store import load_catalog

    catalog = load_catalog(config.bench.data_dir / "catalog")
    rows = []
    for workers in config.worker_counts:
        echo(f"discovery with {workers} worker(s) ...")
        bench = replace(config.bench, workers=workers)
        with bench_server(bench) as server:
            target = target_from(catalog, f"{server.host}:{server.port}")
            entry = run_ladder(server, target, "discovery", bench)
            closed = run_closed_loop(server, target, "discovery", bench)
        rows.append(
            {
                "workers": workers,
                "max_rate_p99_ok": entry["max_sustained_rate"],
                "peak_achieved": entry["peak_achieved"],
                "cpu_us_per_request": entry["cpu_us_per_request"],
                "closed_loop": closed,
                "runs": entry["runs"],
            }
        )
    return rows


def run_curves(config: CurvesConfig, echo: Echo = print) -> dict[str, Any]:
    """Both curves, their plots, and the report (JSON-ready)."""
    echo(prepare_data(config.bench.data_dir))
    echo(prepare_curves_data(config.curves_dir, config.bench.data_dir))
    report: dict[str, Any] = {
        "config": {
            "store": config.bench.store,
            "duration_s": config.bench.duration_s,
            "latency_rate": config.latency_rate,
            "rates": list(config.bench.rates),
            "curves_dir": str(config.curves_dir),
        },
        "candidates": latency_curve(config, echo),
        "workers": workers_curve(config, echo),
    }
    report["plots"] = [str(p) for p in plot_curves(report, config.plots_dir)]
    return report


def curves_markdown(report: dict[str, Any]) -> str:
    """Both curves as Markdown tables."""
    from palate.bench.report import markdown_table

    latency = markdown_table(
        ("target", "candidates", "rate", "p50_ms", "p95_ms", "p99_ms", "p99.9_ms", "errors"),
        report["candidates"],
    )
    workers = [
        {**row, "wrk_requests_per_s": row["closed_loop"].get("requests_per_s")}
        for row in report["workers"]
    ]
    columns = ("workers", "max_rate_p99_ok", "peak_achieved", "cpu_us_per_request")
    return (
        f"### Discovery latency by candidates\n\n{latency}\n\n"
        f"### Discovery throughput by workers\n\n"
        f"{markdown_table((*columns, 'wrk_requests_per_s'), workers)}\n"
    )


def plot_curves(report: dict[str, Any], plots_dir: Path) -> list[Path]:
    """``performance-candidates.png`` and ``performance-workers.png`` in ``plots_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots_dir.mkdir(parents=True, exist_ok=True)
    rows = report["candidates"]
    figure, axes = plt.subplots(figsize=(6, 4))
    counts = [row["candidates"] for row in rows]
    for column, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
        axes.plot(counts, [row[column] for row in rows], marker="o", label=label)
    axes.set(xscale="log", xlabel="candidates (deliverable, open)", ylabel="latency (ms)")
    axes.set_title(f"Discovery latency at {report['config']['latency_rate']:g} requests/s")
    axes.grid(alpha=0.3)
    axes.legend()
    latency_png = plots_dir / "performance-candidates.png"
    figure.savefig(latency_png, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return [latency_png, _plot_workers(report["workers"], plots_dir)]


def _plot_workers(rows: Sequence[dict[str, Any]], plots_dir: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    labels = [f"{row['workers']} worker{'s' if row['workers'] > 1 else ''}" for row in rows]
    positions = list(range(len(rows)))
    open_loop = [row["max_rate_p99_ok"] for row in rows]
    closed = [row["closed_loop"].get("requests_per_s", 0.0) for row in rows]
    axes.bar([p - 0.2 for p in positions], open_loop, width=0.4, label="max rate, p99 ≤ 15 ms")
    axes.bar([p + 0.2 for p in positions], closed, width=0.4, label="closed loop (wrk)")
    axes.set_xticks(positions, labels)
    axes.set(ylabel="Discovery requests/s", title="Discovery throughput by worker count")
    axes.legend()
    workers_png = plots_dir / "performance-workers.png"
    figure.savefig(workers_png, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return workers_png
