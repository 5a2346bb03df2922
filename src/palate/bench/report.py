"""The bench report: summary rows with their ratios to the baselines, Markdown tables, JSON."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from palate.bench.scenarios import HEALTHZ

RUN_COLUMNS = ("rate", "achieved", "p50_ms", "p95_ms", "p99_ms", "p99.9_ms", "errors")
CLOSED_COLUMNS = ("scenario", "requests_per_s", "p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "errors")


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
                "highest_rate_held": entry.get("highest_rate_held", entry["max_sustained_rate"]),
                "cpu_us_per_request": cpu,
                "cpu_vs_healthz": _per(cpu, health["cpu_us_per_request"], 2) if health else None,
                "cpu_vs_kernel": _per(cpu, kernel_us, 1) if name == "discovery" else None,
                "peak_rss_mb": entry["peak_rss_mb"],
            }
        )
    return rows


def versus_naive(report: dict[str, Any]) -> dict[str, Any] | None:
    """Palate's Discovery over the naive service's: max rate in budget, peak, CPU, closed loop."""
    naive = report.get("naive")
    palate = next((s for s in report["scenarios"] if s["scenario"] == "discovery"), None)
    if not naive or not naive.get("available") or palate is None:
        return None
    closed = report.get("closed_loop", {}).get("discovery", {})
    naive_closed = naive.get("closed_loop", {})
    return {
        "palate_max_rate_p99_ok": palate["max_sustained_rate"],
        "naive_max_rate_p99_ok": naive["max_sustained_rate"],
        "max_rate_ratio": _ratio(palate["max_sustained_rate"], naive["max_sustained_rate"]),
        "peak_achieved_ratio": _ratio(palate["peak_achieved"], naive["peak_achieved"]),
        "naive_cpu_over_palate_cpu": _ratio(
            naive["cpu_us_per_request"], palate["cpu_us_per_request"]
        ),
        "closed_loop_rps_ratio": _ratio(
            closed.get("requests_per_s", 0.0), naive_closed.get("requests_per_s", 0.0)
        ),
    }


def _per(value: float, baseline: float, digits: int) -> float | None:
    """``value / baseline`` rounded; None for a zero baseline (a short run can measure no CPU
    tick at all for the cheap baseline)."""
    return round(value / baseline, digits) if baseline else None


def _ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator`` to 2 decimals; None when either side has nothing."""
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def markdown_table(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """A right-aligned Markdown table of ``columns`` (missing cells: –)."""
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
    extra = ("connections", "cpu_us_per_request", "generator_cpu_us", "within_budget")
    columns = (*RUN_COLUMNS, *extra)
    title = (
        f"### {entry['scenario']}: max {entry['max_sustained_rate']:g}/s with p99 in budget "
        f"at every rate up to it (highest rate held: {entry.get('highest_rate_held', 0):g}/s), "
        f"peak RSS {entry['peak_rss_mb']:g} MiB"
    )
    return f"{title}\n\n{markdown_table(columns, entry['runs'])}\n"


def closed_loop_table(closed: dict[str, dict[str, Any]]) -> str:
    """wrk's throughput and latency per scenario, or why there is none."""
    missing = [f"{name}: {c['reason']}" for name, c in closed.items() if not c.get("available")]
    rows = [{"scenario": name, **c} for name, c in closed.items() if c.get("available")]
    first = next(iter(closed.values()), {})
    title = "### Closed loop (wrk"
    title += f", {first['connections']} connections)" if first.get("available") else ")"
    parts = [title, ""]
    if rows:
        parts.append(markdown_table(CLOSED_COLUMNS, rows))
    parts += [f"- {line}" for line in missing]
    return "\n".join(parts) + "\n"


def naive_section(report: dict[str, Any]) -> str:
    """The naive baseline's runs and Palate's ratios to it, or why it did not run."""
    naive = report["naive"]
    if not naive.get("available"):
        return f"### Naive reference service: not available ({naive['reason']})\n"
    parts = [scenario_table({**naive, "scenario": "naive discovery"})]
    if "closed_loop" in naive:
        parts.append(closed_loop_table({"naive discovery": naive["closed_loop"]}))
    ratios = report.get("versus_naive") or {}
    parts.append(f"### Palate ÷ naive\n\n{markdown_table(tuple(ratios), [ratios])}\n")
    return "\n".join(parts)


def model_quality(kernel: dict[str, Any]) -> str:
    """The served model's tree count and test NDCG, as its training run recorded them.

    >>> model_quality({"offline_metrics": {"best_iteration": 3.0, "ndcg@10": 0.49187}})
    '3 trees, test NDCG@10 0.492'
    """
    metrics = kernel.get("offline_metrics") or {}
    ndcg = [
        f"{name.upper()} {value:.3f}" for name, value in sorted(metrics.items()) if "ndcg" in name
    ]
    parts = [f"{metrics['best_iteration']:g} trees"] if "best_iteration" in metrics else []
    if ndcg:
        parts.append("test " + ", ".join(ndcg))
    if "test_requests" in metrics:
        parts.append(f"on {metrics['test_requests']:g} test requests")
    return ", ".join(parts) or "no metrics recorded"


def report_markdown(report: dict[str, Any]) -> str:
    """Every scenario's table, the baselines and the summary, as Markdown."""
    kernel = report["kernel"]
    parts = [scenario_table(entry) for entry in report["scenarios"]]
    parts.append(
        f"Ranking kernel alone ({kernel['candidates']} candidates, GBDT on top "
        f"{kernel['top_k']}, {kernel['backend']}, {kernel['model']}): "
        f"p50 {kernel['p50_us']} µs, p99 {kernel['p99_us']} µs per call.\n\n"
        f"Served model, offline: {model_quality(kernel)}.\n"
    )
    if "closed_loop" in report:
        parts.append(closed_loop_table(report["closed_loop"]))
    if "naive" in report:
        parts.append(naive_section(report))
    columns = tuple(report["summary"][0]) if report["summary"] else ()
    parts.append(f"### Summary\n\n{markdown_table(columns, report['summary'])}\n")
    return "\n".join(parts)


def write_report(report: dict[str, Any], out: Path) -> None:
    """The report as JSON at ``out`` (folders created)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
