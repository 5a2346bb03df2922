"""``palate bench``: constant-rate runs of every scenario against a production-like server.

One run measures, on the same server process: each scenario at fixed rates (percentiles from
the intended send time, achieved rate, errors, server CPU per request), the highest rate held
with p99 within budget, peak RSS, and two baselines — ``GET /healthz`` (the stack's ceiling)
and the ranking kernel alone in-process — so figures can be read as ratios on a noisy machine.
A rate the server clearly cannot keep up with (achieved below 80 % of it) ends that
scenario's ladder: higher rates would only queue longer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from palate.bench.scenarios import (
    HEALTHZ,
    SCENARIOS,
    BenchTarget,
    kernel_timing,
    requests_for,
    target_from,
)
from palate.serving.loadgen import RunResult, constant_rate
from palate.serving.process import free_port, serve_process

BENCH_VENUES_PER_CITY = 1_800  # ~1,050 venues deliver to the centre, ~970 open at dinner
BENCH_CUSTOMERS = 2_000
BENCH_DAYS = 14
SATURATED = 0.8
PINNED_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
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


def prepare_data(data_dir: Path) -> str:
    """Simulate the bench marketplace and train/promote the demo ranker, unless present."""
    from palate.catalog.store import save_catalog
    from palate.events.log import EventLog
    from palate.settings import Settings
    from palate.simulate.config import SimulationConfig
    from palate.simulate.engine import simulate
    from palate.training.venue_ranker.commands import ensure_demo_model

    notes = []
    if not (data_dir / "catalog").exists():
        config = SimulationConfig(
            seed=7,
            customers=BENCH_CUSTOMERS,
            days=BENCH_DAYS,
            venues_per_city=BENCH_VENUES_PER_CITY,
        )
        result = simulate(config)
        save_catalog(result.catalog, data_dir / "catalog")
        EventLog(data_dir / "events").append(result.events)
        notes.append(f"simulated {len(result.catalog.venues)} venues into {data_dir}")
    notes.append(ensure_demo_model(Settings(data={"dir": data_dir})))
    return "; ".join(notes)


# -- the server process and its resource use ----------------------------------------------


@dataclass
class BenchServer:
    """A running ``palate serve`` child."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and its live descendants (workers)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in _process_tree(self.process.pid):
            fields = _stat_fields(pid)
            if fields:
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def peak_rss_mb(self) -> float:
        """Sum of the peak resident set (VmHWM) of the server's processes, in MiB."""
        total_kb = 0
        for pid in _process_tree(self.process.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    total_kb += int(line.split()[1])
        return round(total_kb / 1024, 1)


def _stat_fields(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command name (state is field 0, ppid 1, utime 11)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text[text.rindex(")") + 2 :].split()


def _process_tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, frontier = [root], [root]
    while frontier:
        frontier = [child for pid in frontier for child in parents.get(pid, [])]
        tree += frontier
    return tree


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
        with serve_process(env, url, log_path, ready_timeout) as process:
            yield BenchServer("127.0.0.1", port, process, log_path)


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
        runs.append(_run_row(result, cpu_s, wall_s, config.p99_budget_ms))
        if runs[-1]["achieved"] < SATURATED * rate:
            break
    held = [r["rate"] for r in runs if r["within_budget"]]
    return {
        "scenario": name,
        "runs": runs,
        "max_sustained_rate": max(held, default=0.0),
        "cpu_us_per_request": _cpu_at_best(runs),
        "peak_rss_mb": server.peak_rss_mb(),
    }


def _check_first(server: BenchServer, name: str, request: bytes) -> None:
    """Fail fast with the server's answer when a scenario's request is not a 200."""
    result = constant_rate(server.host, server.port, [request], rate=10, duration_s=0.1)
    if result.errors:
        raise RuntimeError(f"{name}: the server refused the request {request[:200]!r}")


def _run_row(result: RunResult, cpu_s: float, wall_s: float, budget_ms: float) -> dict[str, Any]:
    """The run's figures; ``achieved`` is completions per second of wall time, drain included."""
    row: dict[str, Any] = dict(result.row())
    served = len(result.latencies_s) + result.errors
    row["achieved"] = round(len(result.latencies_s) / wall_s, 1) if wall_s else 0.0
    row["cpu_us_per_request"] = round(cpu_s / served * 1e6, 1) if served else float("nan")
    row["late_starts"] = result.late_starts
    row["within_budget"] = (
        not result.errors
        and row["achieved"] >= SATURATED * result.rate
        and result.percentile_ms(99) <= budget_ms
    )
    return row


def _cpu_at_best(runs: Sequence[dict[str, Any]]) -> float:
    """CPU per request at the highest rate held, else at the first rate."""
    held = [r for r in runs if r["within_budget"]]
    chosen = held[-1] if held else runs[0]
    cpu: float = chosen["cpu_us_per_request"]
    return cpu


def run_bench(config: BenchConfig, echo: Echo = print) -> dict[str, Any]:
    """The whole bench: data, kernel baseline, server, healthz baseline, every scenario."""
    from palate.catalog.store import load_catalog

    echo(prepare_data(config.data_dir))
    kernel = kernel_timing(config.data_dir, config.model_name, calls=config.kernel_calls)
    echo(f"ranking kernel alone: p50 {kernel['p50_us']} µs, p99 {kernel['p99_us']} µs")
    catalog = load_catalog(config.data_dir / "catalog")
    scenarios = []
    with bench_server(config) as server:
        target = target_from(catalog, f"{server.host}:{server.port}")
        for name in (HEALTHZ, *config.scenarios):
            echo(f"running {name} ...")
            scenarios.append(run_scenario(server, target, name, config))
            echo(scenario_table(scenarios[-1]))
    report = {
        "config": _config_dict(config),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "target": target.describe(),
        "kernel": kernel,
        "scenarios": scenarios,
    }
    report["summary"] = summary_rows(report)
    return report


def _config_dict(config: BenchConfig) -> dict[str, Any]:
    return {
        "rates": list(config.rates),
        "duration_s": config.duration_s,
        "scenarios": list(config.scenarios),
        "store": config.store,
        "workers": config.workers,
        "p99_budget_ms": config.p99_budget_ms,
    }


def summary_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per scenario: max rate held, CPU per request, its ratios to the baselines."""
    by_name = {s["scenario"]: s for s in report["scenarios"]}
    health = by_name.get(HEALTHZ)
    kernel_us = float(report["kernel"]["p50_us"])
    rows = []
    for name, entry in by_name.items():
        cpu = entry["cpu_us_per_request"]
        rows.append(
            {
                "scenario": name,
                "max_rate_p99_ok": entry["max_sustained_rate"],
                "cpu_us_per_request": cpu,
                "cpu_vs_healthz": round(cpu / health["cpu_us_per_request"], 2) if health else None,
                "cpu_vs_kernel": round(cpu / kernel_us, 1) if name == "discovery" else None,
                "peak_rss_mb": entry["peak_rss_mb"],
            }
        )
    return rows


# -- the report -------------------------------------------------------------------------------

RUN_COLUMNS = ("rate", "achieved", "p50_ms", "p95_ms", "p99_ms", "p99.9_ms", "errors")


def _markdown(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    head = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---:" for _ in columns) + "|"
    body = ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def scenario_table(entry: dict[str, Any]) -> str:
    """The Markdown table of one scenario's runs."""
    columns = (*RUN_COLUMNS, "cpu_us_per_request", "within_budget")
    title = (
        f"### {entry['scenario']}: max {entry['max_sustained_rate']:g}/s with p99 in budget, "
        f"peak RSS {entry['peak_rss_mb']:g} MiB"
    )
    return f"{title}\n\n{_markdown(columns, entry['runs'])}\n"


def report_markdown(report: dict[str, Any]) -> str:
    """Every scenario's table, the kernel baseline and the summary, as Markdown."""
    kernel = report["kernel"]
    parts = [scenario_table(entry) for entry in report["scenarios"]]
    parts.append(
        f"Ranking kernel alone ({kernel['candidates']} candidates, GBDT on top "
        f"{kernel['top_k']}, {kernel['backend']}, {kernel['model']}): "
        f"p50 {kernel['p50_us']} µs, p99 {kernel['p99_us']} µs per call.\n"
    )
    columns = tuple(report["summary"][0]) if report["summary"] else ()
    parts.append(f"### Summary\n\n{_markdown(columns, report['summary'])}\n")
    return "\n".join(parts)


def write_report(report: dict[str, Any], out: Path) -> None:
    """The report as JSON at ``out`` (folders created)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
