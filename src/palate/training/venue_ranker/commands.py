"""What ``palate train``, ``palate evaluate`` and ``palate demo`` run for the venue ranker."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from palate.premises.discovery import DISCOVERY_FEATURES
from palate.ranking.heuristic import weights_from
from palate.ranking.model_store import FileModelStore, PromotionRefusedError
from palate.settings import Settings
from palate.training.venue_ranker.evaluate import Oracle
from palate.training.venue_ranker.report import write_report
from palate.training.venue_ranker.train import RankerParams, TrainResult
from palate.training.venue_ranker.workflow import Workspace, evaluate, train

# The demo trains on a third of the requests with fewer, coarser replay steps: a first run
# must stay well under two minutes, and the model is still clearly better than the heuristic.
DEMO_SAMPLE = 0.35
DEMO_STEP = timedelta(hours=3)
DEMO_TREES = 150


def _workspace(settings: Settings, sample: float, step_minutes: int) -> Workspace:
    return Workspace(
        settings.data.dir,
        step=timedelta(minutes=step_minutes),
        sample=sample,
        max_requests=settings.ranker.max_training_requests,
    )


def describe_training(result: TrainResult, table_seconds: float) -> str:
    """What a training run produced, in a few lines."""
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in result.metrics.items() if k.startswith("ndcg"))
    return (
        f"registered {result.version.label} ({result.n_train_requests:,} training requests, "
        f"{int(result.metrics['best_iteration'])} trees)\n"
        f"test {metrics}\n"
        f"features {'cached' if table_seconds == 0 else f'{table_seconds:.1f}s'}, "
        f"training {result.seconds:.1f}s"
    )


def run_train(
    settings: Settings, *, promote: bool, trees: int, sample: float, step_minutes: int
) -> str:
    """Train and register a version (promote it too on request); a summary."""
    store = FileModelStore.in_data_dir(settings.data.dir)
    name = settings.ranker.model_name
    started = time.perf_counter()
    result, table = train(
        _workspace(settings, sample, step_minutes),
        store,
        name=name,
        params=RankerParams(num_trees=trees),
        precompile=settings.ranker.compiled,
    )
    lines = [describe_training(result, table.seconds)]
    if promote:
        lines.append(_promote(store, name, result.version.version, settings))
    lines.append(f"total {time.perf_counter() - started:.1f}s")
    return "\n".join(lines)


def _promote(store: FileModelStore, name: str, version: str, settings: Settings) -> str:
    try:
        promoted = store.promote(
            name,
            version,
            serving_features=DISCOVERY_FEATURES,
            max_ndcg_drop=settings.ranker.max_ndcg_drop,
        )
    except PromotionRefusedError as refused:
        return f"not promoted: {refused}"
    return f"promoted {promoted.label}"


def run_evaluate(
    settings: Settings,
    *,
    out: Path | None,
    sample: float,
    step_minutes: int,
    oracle: Oracle | None = None,
) -> str:
    """Evaluate every method on the held-out days and write the report; a summary."""
    store = FileModelStore.in_data_dir(settings.data.dir)
    run = evaluate(
        _workspace(settings, sample, step_minutes),
        store,
        name=settings.ranker.model_name,
        weights=weights_from(settings.heuristic),
        oracle=oracle,
    )
    folder = out if out is not None else settings.data.dir / "reports"
    command = f"palate evaluate --data {settings.data.dir}"
    report, chart = write_report(run.evaluation, folder, command)
    trained = "" if run.trained is None else f"trained {run.trained.version.label}; "
    return (
        f"{report.read_text(encoding='utf-8')}\n{trained}features {run.table_seconds:.1f}s, "
        f"total {run.seconds:.1f}s\nwrote {report} and {chart}"
    )


def ensure_demo_model(settings: Settings, *, retrain: bool = False) -> str:
    """Train (on a sample, for speed) and promote a ranker unless one is already promoted."""
    store = FileModelStore.in_data_dir(settings.data.dir)
    name = settings.ranker.model_name
    current = store.current(name)
    if current is not None and not retrain:
        return f"serving the promoted ranker {current.label}"
    step_minutes = int(DEMO_STEP.total_seconds() // 60)
    return run_train(
        settings, promote=True, trees=DEMO_TREES, sample=DEMO_SAMPLE, step_minutes=step_minutes
    )
