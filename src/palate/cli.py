"""The ``palate`` command: simulate, import, serve, and the demo that chains them."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer

from palate.cli_models import models_app
from palate.settings import Settings, load_settings

if TYPE_CHECKING:
    from palate.bench.runner import BenchConfig

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(models_app, name="models")
log = logging.getLogger("palate.cli")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML settings file (see palate.example.toml)")
]
DataOption = Annotated[
    Path | None, typer.Option("--data", help="Data directory (default: [data].dir)")
]

StepOption = Annotated[int, typer.Option(help="Replay step of the point-in-time features, minutes")]


def _settings(config: Path | None, data: Path | None) -> Settings:
    settings = load_settings(config)
    if data is not None:
        settings.data.dir = data
    return settings


@app.command()
def simulate(
    config: ConfigOption = None,
    data: DataOption = None,
    customers: Annotated[int | None, typer.Option(help="Simulated customers")] = None,
    days: Annotated[int | None, typer.Option(help="Simulated days")] = None,
    cities: Annotated[int | None, typer.Option(help="Cities (2 or 3 span two markets)")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed")] = None,
) -> None:
    """Simulate a marketplace and write its catalog, event log and ground truth."""
    from palate.simulate.write import run_simulation

    settings = _settings(config, data)
    sim = settings.simulation
    overrides = {"customers": customers, "days": days, "cities": cities, "seed": seed}
    settings.simulation = sim.model_copy(update={k: v for k, v in overrides.items() if v})
    typer.echo(run_simulation(settings))


@app.command(name="import")
def import_dataset(
    name: Annotated[
        str, typer.Argument(help="instacart | completejourney | uci-restaurants | dhrd")
    ],
    source: Annotated[Path, typer.Argument(help="Folder with the dataset's files")],
    config: ConfigOption = None,
    data: DataOption = None,
) -> None:
    """Import a public dataset into a catalog and an event log."""
    from palate.catalog.store import save_catalog
    from palate.datasets.registry import import_dataset as run_import
    from palate.events.log import EventLog

    settings = _settings(config, data)
    started = time.perf_counter()
    dataset = run_import(name, source)
    save_catalog(dataset.catalog, settings.data.dir / "catalog")
    rows = EventLog(settings.data.dir / "events").append(dataset.events)
    typer.echo(
        f"imported {name}: {len(dataset.catalog.venues)} venues, "
        f"{len(dataset.catalog.items)} items, "
        f"{rows} events into {settings.data.dir} in {time.perf_counter() - started:.1f}s"
    )


@app.command()
def serve(config: ConfigOption = None, data: DataOption = None) -> None:
    """Serve the API for the data directory."""
    from palate.serving.server import run_server

    run_server(_settings(config, data))


@app.command()
def replay(
    source: Annotated[Path, typer.Argument(help="Data directory whose event log to send")],
    url: Annotated[str, typer.Option(help="Palate server")] = "http://127.0.0.1:8000",
    rate: Annotated[float, typer.Option(help="Events per second; 0 sends as fast as possible")] = 0,
    batch: Annotated[int, typer.Option(help="Events per request")] = 1000,
    concurrency: Annotated[int, typer.Option(help="Parallel connections")] = 2,
) -> None:
    """Feed an event log through POST /v1/events at a chosen rate."""
    from palate.serving.replay import replay as run_replay

    stats = run_replay(
        source / "events", url, rate=rate or None, batch_size=batch, concurrency=concurrency
    )
    typer.echo(stats.format())
    if stats.failed_batches:
        raise typer.Exit(1)


@app.command()
def train(
    config: ConfigOption = None,
    data: DataOption = None,
    promote: Annotated[bool, typer.Option(help="Promote the new version for serving")] = False,
    trees: Annotated[
        int, typer.Option(help="Most boosting rounds (early stopping may stop sooner)")
    ] = 300,
    sample: Annotated[float, typer.Option(help="Share of requests to learn from")] = 1.0,
    step_minutes: Annotated[
        int, typer.Option(help="Replay step of the point-in-time features")
    ] = 60,
) -> None:
    """Train the LambdaMART venue ranker from the event log, register it (and promote it)."""
    from palate.training.venue_ranker.commands import run_train

    settings = _settings(config, data)
    typer.echo(
        run_train(settings, promote=promote, trees=trees, sample=sample, step_minutes=step_minutes)
    )


@app.command()
def evaluate(
    config: ConfigOption = None,
    data: DataOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: <data>/reports)")
    ] = None,
    sample: Annotated[float, typer.Option(help="Share of requests to evaluate on")] = 1.0,
    step_minutes: Annotated[
        int, typer.Option(help="Replay step of the point-in-time features")
    ] = 60,
) -> None:
    """Offline evaluation of venue ranking: baselines, the learned model and (simulated) oracle."""
    from palate.training.venue_ranker.commands import run_evaluate

    settings = _settings(config, data)
    from palate.simulate.oracle import load_oracle

    oracle = load_oracle(settings.data.dir)
    typer.echo(
        run_evaluate(settings, out=out, sample=sample, step_minutes=step_minutes, oracle=oracle)
    )


@app.command(name="evaluate-baskets")
def evaluate_baskets(
    dataset: Annotated[
        str, typer.Argument(help="instacart | completejourney | dhrd | events (a Palate log)")
    ],
    source: Annotated[Path, typer.Argument(help="Folder with the dataset's files or the log")],
    out: Annotated[Path, typer.Option(help="Report folder")] = Path("reports/next_basket"),
    splits: Annotated[int, typer.Option(help="Random user splits")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the first split")] = 0,
    item_level: Annotated[
        str | None, typer.Option(help="item | product (merge per-store copies of a product)")
    ] = None,
) -> None:
    """Next-basket evaluation (Li et al. 2023 protocol) on any order log: baselines vs models."""
    from palate.training.next_basket.evaluate import run as run_baskets

    if item_level not in (None, "item", "product"):
        raise typer.BadParameter("item | product", param_hint="--item-level")
    level = cast('Literal["item", "product"] | None', item_level)
    report = run_baskets(dataset, source, out, n_splits=splits, seed=seed, item_level=level)
    typer.echo(report.to_markdown())


@app.command(name="evaluate-venues-real")
def evaluate_venues_real(
    dataset: Annotated[str, typer.Argument(help="uci-restaurants (or any venue-level dataset)")],
    source: Annotated[Path, typer.Argument(help="Folder with the dataset's files")],
    radius_km: Annotated[
        float | None, typer.Option(help="Candidates only within this distance of the user")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of ties, random baseline and folds")] = 0,
) -> None:
    """Venue ranking on real data: leave-one-out per user, baselines vs learned combinations."""
    from palate.training.venue_ranker.real_data import evaluate_real_venues

    typer.echo(evaluate_real_venues(dataset, source, radius_km=radius_km, seed=seed).to_markdown())


@app.command()
def bench(
    data: Annotated[Path, typer.Option(help="Bench data directory (simulated if missing)")] = Path(
        "data/bench"
    ),
    rates: Annotated[str, typer.Option(help="Fixed rates per second, comma-separated")] = (
        "500,1000,1500,2000"
    ),
    duration: Annotated[float, typer.Option(help="Seconds per rate")] = 10.0,
    scenarios: Annotated[str, typer.Option(help="Comma-separated scenarios")] = (
        "discovery,category,venue_items,cart,banners,events"
    ),
    store: Annotated[str, typer.Option(help="memory | redis")] = "memory",
    workers: Annotated[int, typer.Option(help="Server worker processes")] = 1,
    redis_url: Annotated[str, typer.Option(help="Redis for --store redis")] = (
        "redis://127.0.0.1:6379/0"
    ),
    out: Annotated[Path | None, typer.Option(help="JSON report (default <data>/reports)")] = None,
    baseline: Annotated[
        str, typer.Option(help="none | naive: the naive reference service, same run")
    ] = "none",
    naive_rates: Annotated[str, typer.Option(help="Rates for the naive service")] = (
        "5,10,20,40,80,160"
    ),
    closed_loop: Annotated[
        bool, typer.Option("--closed-loop", help="Also a wrk max-throughput run per scenario")
    ] = False,
    curves: Annotated[
        bool,
        typer.Option("--curves", help="Scaling curves (latency vs candidates, 1 vs 2 workers)"),
    ] = False,
    curve_rate: Annotated[float, typer.Option(help="--curves: rate of the latency points")] = 20.0,
    plots_dir: Annotated[
        Path | None, typer.Option(help="--curves: PNG folder (default <data>/reports)")
    ] = None,
    stages: Annotated[
        bool,
        typer.Option(
            "--stages",
            help="Each ranking scenario's CPU per stage and its floor, in process "
            "(with --store redis, also what each request costs Redis)",
        ),
    ] = False,
) -> None:
    """Constant-rate load on every scenario of a production-like server, with baselines."""
    from palate.bench.runner import BenchConfig, report_markdown, run_bench, write_report

    if store not in ("memory", "redis"):
        raise typer.BadParameter("memory | redis", param_hint="--store")
    if baseline not in ("none", "naive"):
        raise typer.BadParameter("none | naive", param_hint="--baseline")
    config = BenchConfig(
        data_dir=data,
        rates=_floats(rates),
        duration_s=duration,
        scenarios=tuple(s.strip() for s in scenarios.split(",") if s.strip()),
        store=store,
        workers=workers,
        redis_url=redis_url,
        baseline=None if baseline == "none" else baseline,
        naive_rates=_floats(naive_rates),
        closed_loop=closed_loop,
    )
    if curves:
        _bench_curves(config, curve_rate, plots_dir or data / "reports", out)
        return
    if stages:
        shared = config.redis_url if config.store == "redis" else None
        _bench_stages(data, config.scenarios, out, shared)
        return
    report = run_bench(config, echo=typer.echo)
    target = out or data / "reports" / "bench.json"
    write_report(report, target)
    typer.echo(report_markdown(report))
    typer.echo(f"report written to {target}")


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(r) for r in text.split(",") if r.strip())


def _bench_stages(
    data: Path, scenarios: tuple[str, ...], out: Path | None, redis_url: str | None
) -> None:
    from palate.bench.report import write_report
    from palate.bench.runner import prepare_data
    from palate.bench.stages import STAGED, stage_profile, stages_markdown

    typer.echo(prepare_data(data))
    staged = [s for s in scenarios if s in STAGED]
    report = stage_profile(data, scenarios=staged, redis_url=redis_url)
    target = out or data / "reports" / "stages.json"
    write_report(report, target)
    typer.echo(stages_markdown(report))
    typer.echo(f"report written to {target}")


def _bench_curves(config: BenchConfig, rate: float, plots_dir: Path, out: Path | None) -> None:
    from palate.bench.curves import CurvesConfig, curves_markdown, run_curves
    from palate.bench.report import write_report

    curves_dir = config.data_dir.with_name(f"{config.data_dir.name}-curves")
    report = run_curves(CurvesConfig(config, curves_dir, plots_dir, latency_rate=rate), typer.echo)
    target = out or config.data_dir / "reports" / "curves.json"
    write_report(report, target)
    typer.echo(curves_markdown(report))
    typer.echo(f"report written to {target}; plots: {', '.join(report['plots'])}")


@app.command()
def demo(
    config: ConfigOption = None,
    data: DataOption = None,
    fresh: Annotated[bool, typer.Option(help="Simulate again even if data exists")] = False,
) -> None:
    """The demo marketplace: simulate → replay → train → promote → serve on :8000.

    The simulated log goes through POST /v1/events, so the features and the event log the
    ranker trains on are built by the real ingestion; the server hot-swaps the promoted model.
    """
    from palate.cli_demo import run_demo

    run_demo(_settings(config, data), fresh=fresh, echo=typer.echo)


def main() -> None:
    """Entry point of the console script."""
    app()
