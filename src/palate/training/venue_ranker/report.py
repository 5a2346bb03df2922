"""The evaluation report: Markdown tables and a PNG bar chart of NDCG@10 per method."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from palate.training.venue_ranker.evaluate import METRICS, SEGMENTS, Evaluation

REPORT_FILE = "venue_ranking.md"
CHART_FILE = "venue_ranking_ndcg10.png"


def markdown(evaluation: Evaluation, command: str = "") -> str:
    """The report as Markdown: overall table (with the gap closed), then one table per segment."""
    lines = [
        "# Venue ranking evaluation",
        "",
        f"Model {evaluation.model}; {evaluation.n_requests:,} engaged test requests from "
        f"{evaluation.test_start:%Y-%m-%d}; best baseline: {evaluation.best_baseline}.",
    ]
    if command:
        lines += ["", f"Reproduce: `{command}`"]
    lines += ["", "## All test requests", "", *_overall_table(evaluation.overall)]
    for segment in SEGMENTS:
        lines += ["", f"## NDCG@10 by {segment}", "", *_segment_table(evaluation, segment)]
    return "\n".join(lines) + "\n"


def _overall_table(overall: pl.DataFrame) -> list[str]:
    header = ["method", *METRICS, "gap closed"]
    rows = []
    for row in overall.iter_rows(named=True):
        gap = row["gap_closed"]
        cells = [f"{row[m]:.4f}" for m in METRICS]
        rows.append([row["method"], *cells, "-" if gap is None else f"{gap:.0%}"])
    return _table(header, rows)


def _segment_table(evaluation: Evaluation, segment: str) -> list[str]:
    part = evaluation.segments.filter(pl.col("segment") == segment)
    values = list(dict.fromkeys(part["value"].to_list()))
    methods = list(dict.fromkeys(part["method"].to_list()))
    counts = {v: part.filter(pl.col("value") == v)["requests"][0] for v in values}
    header = ["method", *(f"{v} ({counts[v]:,})" for v in values)]
    rows = []
    for method in methods:
        cells = []
        for value in values:
            found = part.filter((pl.col("method") == method) & (pl.col("value") == value))
            score = found["ndcg@10"].item()
            cells.append("-" if score is None or score != score else f"{score:.4f}")
        rows.append([method, *cells])
    return _table(header, rows)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table.

    >>> _table(["a", "b"], [["1", "2"]])
    ['| a | b |', '|---|---|', '| 1 | 2 |']
    """
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def bar_chart(evaluation: Evaluation, path: Path) -> Path:
    """NDCG@10 per method as a PNG (matplotlib, headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    overall = evaluation.overall.sort("ndcg@10")
    figure, axes = plt.subplots(figsize=(7, 0.45 * overall.height + 1.2))
    colours = [
        "tab:green" if m == "learned" else "tab:gray" if m == "oracle" else "tab:blue"
        for m in overall["method"]
    ]
    axes.barh(overall["method"].to_list(), overall["ndcg@10"].to_list(), color=colours)
    for y, value in enumerate(overall["ndcg@10"].to_list()):
        axes.text(value, y, f" {value:.3f}", va="center", fontsize=8)
    axes.set_xlabel("NDCG@10 (graded), test requests")
    axes.set_title(f"Venue ranking — {evaluation.model}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_report(evaluation: Evaluation, out_dir: Path, command: str = "") -> tuple[Path, Path]:
    """Write the Markdown report and the chart into ``out_dir``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / REPORT_FILE
    report.write_text(markdown(evaluation, command), encoding="utf-8")
    return report, bar_chart(evaluation, out_dir / CHART_FILE)
