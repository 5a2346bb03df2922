"""Training cost versus event-log size: simulate logs, time ``train`` on each, plot the curve.

Each measurement runs ``palate train``'s own workflow (read the log, build the point-in-time
table, fit LightGBM, register with the embeddings) in a fresh child process, so its peak RSS is
that run's alone and no cached table or model is reused. Reproduce the committed figure with::

    python -m palate.bench.training_scale --workdir /tmp/palate-scale \\
        --out docs/performance-training.png

which simulates ~1M events (5,000 customers × 42 days) and ~10M events (50,000 × 42) into
``--workdir`` (kept, so a rerun skips the simulation) and prints one JSON line per size.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from palate.settings import load_settings

# (customers, days) of one simulated city; events grow with customers × days (~4.9 per day).
SIZES: dict[str, tuple[int, int]] = {"1m": (5_000, 42), "10m": (50_000, 42)}
MB = 1024.0  # ru_maxrss is in KiB on Linux


@dataclass(frozen=True, slots=True)
class TrainingRun:
    """One ``train`` on one log: its size, the wall time of each phase and the peak memory."""

    events: int
    log_embeddings_s: float
    table_s: float
    fit_register_s: float
    total_s: float
    cpu_s: float  # user + system of the run, every thread: wall time on a quiet machine is about
    # this divided by the cores busy, so it tells contention apart from cost
    peak_rss_mb: float
    ndcg_at_10: float
    train_requests: int

    @property
    def events_per_s(self) -> float:
        """Events trained on per second of the whole run."""
        return self.events / self.total_s if self.total_s > 0 else 0.0

    def format(self) -> str:
        """One line for a terminal."""
        return (
            f"{self.events:>11,} events: table {self.table_s:6.1f}s, "
            f"log+embeddings {self.log_embeddings_s:6.1f}s, "
            f"fit+register {self.fit_register_s:6.1f}s, total {self.total_s:6.1f}s "
            f"(CPU {self.cpu_s:6.1f}s) "
            f"({self.events_per_s:,.0f} events/s), peak RSS {self.peak_rss_mb:,.0f} MB, "
            f"test NDCG@10 {self.ndcg_at_10:.4f}"
        )


def simulate_log(data_dir: Path, customers: int, days: int, seed: int = 7) -> None:
    """Simulate one city into ``data_dir`` (catalog, events, truth) unless it is there."""
    if (data_dir / "events").exists():
        return
    from palate.simulate.write import run_simulation

    settings = load_settings(None)
    settings.data.dir = data_dir
    update = {"customers": customers, "days": days, "cities": 1, "seed": seed}
    settings.simulation = settings.simulation.model_copy(update=update)
    run_simulation(settings)


def train_once(data_dir: Path) -> TrainingRun:
    """``palate train``'s workflow from scratch in this process (old tables and models removed).

    ``log_embeddings_s`` covers reading the log and fitting the shipped embeddings: what is
    left of the run once the table build and LightGBM + registration are taken out.
    """
    from palate.ranking.model_store import FileModelStore
    from palate.training.venue_ranker.workflow import CACHE_DIR, Workspace, train

    store = FileModelStore.in_data_dir(data_dir)
    for leftover in (data_dir / CACHE_DIR, store.root):
        shutil.rmtree(leftover, ignore_errors=True)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    cap = load_settings(None).ranker.max_training_requests  # as `palate train` by default
    result, table = train(Workspace(data_dir, max_requests=cap), store, name="venue_ranker")
    total_s = time.perf_counter() - started
    return TrainingRun(
        events=_log_size(data_dir),
        log_embeddings_s=total_s - table.seconds - result.seconds,
        table_s=table.seconds,
        fit_register_s=result.seconds,
        total_s=total_s,
        cpu_s=_cpu_seconds() - cpu_started,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MB,
        ndcg_at_10=result.metrics["ndcg@10"],
        train_requests=result.n_train_requests,
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _log_size(data_dir: Path) -> int:
    from palate.events.log import EventLog

    return EventLog(data_dir / "events").count()


def measure(data_dir: Path) -> TrainingRun:
    """:func:`train_once` in a child process (its own peak RSS, nothing warm)."""
    command = [sys.executable, "-m", "palate.bench.training_scale", "--measure", str(data_dir)]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout  # noqa: S603
    return TrainingRun(**json.loads(output.strip().splitlines()[-1]))


def load_runs(path: Path) -> list[TrainingRun]:
    """Runs from the JSON lines :func:`main` printed."""
    fields = set(TrainingRun.__dataclass_fields__)
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [TrainingRun(**{k: v for k, v in line.items() if k in fields}) for line in lines]


def plot(runs: list[TrainingRun], path: Path, budget_s: float = 600.0) -> None:
    """Training time (stacked by phase) against events, with the 10-minute budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(runs, key=lambda r: r.events)
    millions = [r.events / 1e6 for r in runs]
    figure, axis = plt.subplots(figsize=(7, 4.2))
    axis.plot(millions, [r.total_s for r in runs], "o-", label="total (train and register)")
    axis.plot(millions, [r.table_s for r in runs], "s--", label="point-in-time table")
    axis.plot(millions, [r.fit_register_s for r in runs], "^--", label="LightGBM + register")
    axis.axhline(budget_s, color="grey", linestyle=":", label="budget (10 min)")
    for run, x in zip(runs, millions, strict=True):
        note = f"{run.total_s:.0f}s, {run.peak_rss_mb / 1024:.1f} GB"
        axis.annotate(note, (x, run.total_s), textcoords="offset points", xytext=(6, -12))
    axis.set_xlabel("events in the log (millions)")
    axis.set_ylabel("wall seconds (2 cores)")
    axis.set_title("palate train: time versus event-log size")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    """Simulate the sizes, measure each, print JSON lines and write the plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="where the logs go")
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated: 1m,10m")
    parser.add_argument("--out", type=Path, default=None, help="PNG of the curve")
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--plot-only", type=Path, default=None, help="JSON lines to plot")
    args = parser.parse_args(argv)
    if args.measure is not None:  # the child of measure()
        sys.stdout.write(json.dumps(asdict(train_once(args.measure))) + "\n")
        return
    if args.plot_only is not None:
        if args.out is not None:
            plot(load_runs(args.plot_only), args.out)
        return
    if args.workdir is None:
        parser.error("--workdir is required")
    runs = []
    for size in args.sizes.split(","):
        customers, days = SIZES[size]
        data_dir = args.workdir / size
        simulate_log(data_dir, customers, days)
        run = measure(data_dir)
        sys.stdout.write(json.dumps({"size": size, **asdict(run)}) + "\n")
        sys.stderr.write(run.format() + "\n")
        runs.append(run)
    if args.out is not None:
        plot(runs, args.out)


if __name__ == "__main__":
    main()
