"""``palate bench``: constant-rate runs of every scenario against a production-like server.

One run measures, on the same server process: each scenario at fixed rates (percentiles from
the intended send time, achieved rate, errors, server CPU per request), the highest rate held
with p99 within budget, peak RSS, and two baselines — ``GET /healthz`` (the stack's ceiling)
and the ranking kernel alone in-process — so figures can be read as ratios on a noisy machine.
A rate the server clearly cannot keep up with (achieved below 80 % of it) ends that
scenario's ladder: higher rates would only queue longer. Optionally, on the same server,
``wrk``'s closed-loop maximum throughput per scenario (:mod:`palate.bench.closed_loop`), and
after it the naive reference service's Discovery (:mod:`palate.bench.naive`) for the
Palate ÷ naive ratios. Scaling curves live in :mod:`palate.bench.curves`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

from palate.bench.closed_loop import closed_loop
from palate.bench.naive import checkout_root, naive_server
from palate.bench.report import (
    report_markdown,
    scenario_table,
    summary_rows,
    versus_naive,
    write_report,
)
from palate.bench.scenarios import (
    HEALTHZ,
    SCENARIOS,
    BenchTarget,
    kernel_timing,
    requests_for,
    target_from,
)
from palate.bench.server import PINNED_THREADS, BenchServer, drop_keys
from palate.serving.loadgen import RunResult, constant_rate
from palate.serving.process import free_port, serve_process

if TYPE_CHECKING:
    from palate.domain.catalog import Catalog

__all__ = [  # the report helpers stay importable from here (CLI, tests, benchmarks)
    "BenchConfig",
    "report_markdown",
    "run_bench",
    "write_report",
]

BENCH_VENUES_PER_CITY = 1_800  # ~1,050 venues deliver to the centre, ~970 open at dinner
BENCH_CUSTOMERS = 2_000
BENCH_DAYS = 14
BENCH_MENU_ITEMS = 200  # the in-venue scenario's menu (issue 6)
SATURATED = 0.8
NAIVE_RATES = (5.0, 10.0, 20.0, 40.0, 80.0, 160.0)  # the naive service saturates far lower
CLOSED_LOOP_POOL = 2_000  # distinct requests wrk cycles through (events: distinct ids)
NAIVE_CONNECTIONS = 4  # per worker: more only queue in its thread pool (it does ~10/s a core)
Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """What to run; see ``palate bench --help``."""

    data_dir: Path
    rates: tuple[float, ...] = (500, 1_000, 1_500, 2_000)
    duration_s: float = 10.0
    scenarios: tuple[str, ...] = SCENARIOS
    store: str = "memory"
    workers: int = 1
    redis_url: str = "redis://127.0.0.1:6379/0"
    p99_budget_ms: float = 15.0
    warmup_s: float = 1.0
    connections: int = 64
    kernel_calls: int = 2_000
    model_name: str = "venue_ranker"
    extra_env: dict[str, str] = field(default_factory=dict)
    baseline: str | None = None  # "naive": the reference service, after Palate, same run
    naive_rates: tuple[float, ...] = NAIVE_RATES
    closed_loop: bool = False  # also a wrk max-throughput run per scenario
    closed_loop_connections: int = 32


def prepare_data(data_dir: Path) -> str:
    """Simulate the bench marketplace and train/promote the demo ranker, unless present."""
    from palate.settings import Settings
    from palate.training.venue_ranker.commands import ensure_demo_model

    simulated = simulate_into(data_dir, BENCH_VENUES_PER_CITY, BENCH_CUSTOMERS, BENCH_DAYS)
    trained = ensure_demo_model(Settings(data={"dir": data_dir}))
    return "; ".join(note for note in (simulated, trained) if note)


def simulate_into(data_dir: Path, venues_per_city: int, customers: int, days: int) -> str:
    """One simulated city (seed 7) written to ``data_dir`` unless it has a catalog; a note."""
    from palate.catalog.store import save_catalog
    from palate.events.log import EventLog
    from palate.simulate.config import SimulationConfig
    from palate.simulate.engine import simulate

    if (data_dir / "catalog").exists():
        return ""
    config = SimulationConfig(
        seed=7, customers=customers, days=days, venues_per_city=venues_per_city
    )
    result = simulate(config)
    stock_largest_menu(result.catalog, BENCH_MENU_ITEMS)
    save_catalog(result.catalog, data_dir / "catalog")
    EventLog(data_dir / "events").append(result.events)
    return f"simulated {len(result.catalog.venues)} venues into {data_dir}"


def stock_largest_menu(catalog: Catalog, size: int) -> str:
    """Grow the largest menu to ``size`` items with numbered variants of its own items.

    The simulator's largest assortment (a grocery) has ~60 items; issue 6's in-venue scenario
    ranks 200. Variants copy category, price and tags, so every feature path sees real rows.
    """
    menus = Counter(item.venue_id for item in catalog.items.values())
    venue_id = max(menus, key=lambda venue: (menus[venue], venue))
    base = catalog.items_of(venue_id)
    for k in range(max(0, size - len(base))):
        source = base[k % len(base)]
        copy = k // len(base) + 2
        variant = replace(source, id=f"{source.id}-{copy}", name=f"{source.name} {copy}")
        catalog.items[variant.id] = variant
    return venue_id


def server_env(config: BenchConfig, port: int, wal_dir: Path) -> dict[str, str]:
    """The production-like environment of the server child."""
    env = {**os.environ, **dict.fromkeys(PINNED_THREADS, "1")}
    env |= {
        "PALATE_ENV": "production",
        "PALATE_ADMIN_TOKEN": f"bench-{uuid.uuid4().hex}",
        "PALATE_LOG_LEVEL": "WARNING",
        "PALATE_SERVER__PORT": str(port),
        "PALATE_SERVER__WORKERS": str(config.workers),
        "PALATE_SERVER__ACCESS_LOG": "false",
        "PALATE_DATA__DIR": str(config.data_dir),
        "PALATE_INGEST__WAL_DIR": str(wal_dir),
    }
    if config.store == "redis":
        env["PALATE_REDIS__URL"] = config.redis_url
        env["PALATE_REDIS__KEY_PREFIX"] = f"palate-bench-{uuid.uuid4().hex[:12]}"
    else:
        env.pop("PALATE_REDIS__URL", None)
    return env | config.extra_env


@contextmanager
def bench_server(config: BenchConfig, ready_timeout: float = 120.0) -> Iterator[BenchServer]:
    """``python -m palate serve`` in the bench configuration; yields once ``/readyz`` is 200."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="palate-bench-") as scratch:
        log_path = Path(scratch) / "server.log"
        env = server_env(config, port, Path(scratch) / "wal")
        url = f"http://127.0.0.1:{port}"
        try:
            with serve_process(env, url, log_path, ready_timeout) as process:
                yield BenchServer("127.0.0.1", port, process, log_path)
        finally:
            if config.store == "redis":  # the run's features, dedupe ids, streams
                drop_keys(config.redis_url, env["PALATE_REDIS__KEY_PREFIX"])


# -- the runs ---------------------------------------------------------------------------------


def run_scenario(
    server: BenchServer, target: BenchTarget, name: str, config: BenchConfig
) -> dict[str, Any]:
    """Warm up, then the rate ladder of one scenario; its report entry."""
    first = min(config.rates)
    warm = requests_for(name, target, max(1, int(first * config.warmup_s)), f"{name}-warm")
    _check_first(server, name, warm[0])
    constant_rate(server.host, server.port, warm, rate=first, duration_s=config.warmup_s)
    runs: list[dict[str, Any]] = []
    for rate in sorted(config.rates):
        count = max(1, int(rate * config.duration_s))
        requests = requests_for(name, target, count, f"{name}-{rate:g}-{uuid.uuid4().hex[:6]}")
        cpu_before, started = server.cpu_seconds(), time.perf_counter()
        generator_before = time.process_time()  # the generator runs in this process
        result = constant_rate(
            server.host,
            server.port,
            requests,
            rate=rate,
            duration_s=config.duration_s,
            connections=config.connections,
        )
        wall_s = time.perf_counter() - started
        cpu_s = server.cpu_seconds() - cpu_before
        row = _run_row(result, cpu_s, wall_s, config.p99_budget_ms)
        row["generator_cpu_us"] = _per_request(time.process_time() - generator_before, result)
        runs.append(row)
        if runs[-1]["achieved"] < SATURATED * rate:
            break
    held = [r["rate"] for r in runs if r["within_budget"]]
    return {
        "scenario": name,
        "runs": runs,
        "max_sustained_rate": sustained_rate(runs),
        "highest_rate_held": max(held, default=0.0),
        "peak_achieved": max(r["achieved"] for r in runs),
        "cpu_us_per_request": _cpu_at_best(runs),
        "peak_rss_mb": server.peak_rss_mb(),
    }


def sustained_rate(runs: Sequence[dict[str, Any]]) -> float:
    """The highest rate of the ladder below which every rate held too (0 when the first
    missed): a rate that holds above one that missed is the machine's noise, not capacity.

    >>> sustained_rate([{"rate": 1.0, "within_budget": True}, {"rate": 2.0, "within_budget": False},
    ...                 {"rate": 3.0, "within_budget": True}])
    1.0
    """
    best = 0.0
    for run in sorted(runs, key=lambda r: r["rate"]):
        if not run["within_budget"]:
            break
        best = run["rate"]
    return best


def _check_first(server: BenchServer, name: str, request: bytes) -> None:
    """Fail fast with the server's answer when a scenario's request is not a 200."""
    result = constant_rate(server.host, server.port, [request], rate=10, duration_s=0.1)
    if result.errors:
        raise RuntimeError(f"{name}: the server refused the request {request[:200]!r}")


def _run_row(result: RunResult, cpu_s: float, wall_s: float, budget_ms: float) -> dict[str, Any]:
    """The run's figures; ``achieved`` is completions per second of wall time, drain included."""
    row: dict[str, Any] = dict(result.row())
    row["achieved"] = round(len(result.latencies_s) / wall_s, 1) if wall_s else 0.0
    row["cpu_us_per_request"] = _per_request(cpu_s, result)
    row["late_starts"] = result.late_starts
    row["connections"] = result.connections  # the pool grows while every connection is busy
    row["within_budget"] = (
        not result.errors
        and row["achieved"] >= SATURATED * result.rate
        and result.percentile_ms(99) <= budget_ms
    )
    return row


def _per_request(cpu_s: float, result: RunResult) -> float:
    """CPU seconds over the requests answered (errors included), in µs."""
    served = len(result.latencies_s) + result.errors
    return round(cpu_s / served * 1e6, 1) if served else float("nan")


def _cpu_at_best(runs: Sequence[dict[str, Any]]) -> float:
    """CPU per request at the highest rate held, else at the first rate."""
    held = [r for r in runs if r["within_budget"]]
    chosen = held[-1] if held else runs[0]
    cpu: float = chosen["cpu_us_per_request"]
    return cpu


def run_bench(config: BenchConfig, echo: Echo = print) -> dict[str, Any]:
    """The whole bench: data, kernel baseline, server, healthz baseline, every scenario, then
    (optionally) wrk's closed loop on the same server and the naive service after it."""
    from palate.catalog.store import load_catalog

    echo(prepare_data(config.data_dir))
    kernel = kernel_timing(config.data_dir, config.model_name, calls=config.kernel_calls)
    echo(f"ranking kernel alone: p50 {kernel['p50_us']} µs, p99 {kernel['p99_us']} µs")
    catalog = load_catalog(config.data_dir / "catalog")
    scenarios, closed = [], {}
    with bench_server(config) as server:
        target = target_from(catalog, f"{server.host}:{server.port}")
        for name in (HEALTHZ, *config.scenarios):
            echo(f"running {name} ...")
            scenarios.append(run_scenario(server, target, name, config))
            echo(scenario_table(scenarios[-1]))
        if config.closed_loop:
            closed = {
                n: run_closed_loop(server, target, n, config) for n in (HEALTHZ, *config.scenarios)
            }
    report: dict[str, Any] = {
        "config": _config_dict(config),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "target": target.describe(),
        "kernel": kernel,
        "scenarios": scenarios,
    }
    if config.closed_loop:
        report["closed_loop"] = closed
    if config.baseline == "naive":
        report["naive"] = run_naive(config, catalog, echo)
        report["versus_naive"] = versus_naive(report)
    report["summary"] = summary_rows(report)
    return report


def run_closed_loop(
    server: BenchServer,
    target: BenchTarget,
    name: str,
    config: BenchConfig,
    connections: int | None = None,
) -> dict[str, Any]:
    """wrk against one scenario for ``duration_s`` (or why it could not run)."""
    requests = requests_for(name, target, CLOSED_LOOP_POOL, f"{name}-wrk-{uuid.uuid4().hex[:6]}")
    return closed_loop(
        server.host,
        server.port,
        requests,
        duration_s=config.duration_s,
        connections=connections or config.closed_loop_connections,
    )


def run_naive(config: BenchConfig, catalog: Catalog, echo: Echo) -> dict[str, Any]:
    """Discovery against the naive reference service (same data, model, workers)."""
    if checkout_root() is None:
        return {"available": False, "reason": "benchmarks/naive_service is not installed"}
    echo("running discovery against the naive reference service ...")
    naive_config = replace(config, rates=config.naive_rates)
    try:
        with naive_server(config.data_dir, config.redis_url, config.workers) as naive:
            target = target_from(catalog, f"{naive.host}:{naive.port}")
            entry = run_scenario(naive, target, "discovery", naive_config)
            if config.closed_loop:
                connections = NAIVE_CONNECTIONS * config.workers
                entry["closed_loop"] = run_closed_loop(
                    naive, target, "discovery", config, connections
                )
    except (RuntimeError, OSError, redis.RedisError) as error:
        return {"available": False, "reason": f"{type(error).__name__}: {error}"}
    echo(scenario_table({**entry, "scenario": "naive discovery"}))
    return {"available": True, **entry}


def _config_dict(config: BenchConfig) -> dict[str, Any]:
    return {
        "rates": list(config.rates),
        "duration_s": config.duration_s,
        "scenarios": list(config.scenarios),
        "store": config.store,
        "workers": config.workers,
        "p99_budget_ms": config.p99_budget_ms,
        "baseline": config.baseline,
        "naive_rates": list(config.naive_rates),
        "closed_loop": config.closed_loop,
        "closed_loop_connections": config.closed_loop_connections,
    }
