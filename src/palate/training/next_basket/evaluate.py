"""Next-basket evaluation of any order log: baselines, TIFU-KNN and the LightGBM re-ranker.

``python -m palate.training.next_basket.evaluate instacart ../shared/data/instacart-sample``
imports a public dataset, evaluates it and writes the Markdown report and chart;
``… evaluate events DATA_DIR/events`` does the same for an event-log directory.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa

from palate.datasets import import_dataset
from palate.training.next_basket.baselines import g_topfreq, gp_topfreq, p_topfreq
from palate.training.next_basket.measure import measure, target_profile
from palate.training.next_basket.models import TIFU_GRID, TifuParams, fit_tifu, tune_tifu
from palate.training.next_basket.protocol import (
    BasketSplit,
    ItemLevel,
    ProtocolConfig,
    build_split,
    order_baskets,
    read_orders,
)
from palate.training.next_basket.report import NextBasketReport, SplitOutcome
from palate.training.next_basket.reranker import RerankerParams, fit_reranker
from palate.training.next_basket.scoring import Scorer, rank

# Importers that give every store its own copy of a chain's product (see protocol.py).
PRODUCT_LEVEL_DATASETS: dict[str, ItemLevel] = {"completejourney": "product", "dhrd": "product"}
VALIDATION_K = 10
EVENT_LOG = "events"


def _methods(
    split: BasketSplit, reranker: RerankerParams, tifu_grid: Sequence[TifuParams]
) -> tuple[dict[str, Scorer], dict[str, str]]:
    tifu = tune_tifu(split, tifu_grid, VALIDATION_K)
    model = fit_reranker(split, dataclasses.replace(reranker, tifu=tifu))
    timeless = fit_reranker(split, dataclasses.replace(reranker, tifu=tifu, request_time=False))
    scorers: dict[str, Scorer] = {
        "G-TopFreq": g_topfreq(split),
        "P-TopFreq": p_topfreq(split),
        "GP-TopFreq": gp_topfreq(split),
        "TIFU-KNN": fit_tifu(split, tifu),
        "LightGBM re-ranker": model,
        "LightGBM repeat-only": model.only_repeats(),
        "LightGBM without request time": timeless,
    }
    settings = {
        "TIFU-KNN": (
            f"k={tifu.neighbours}, r_b={tifu.within_decay}, r_g={tifu.group_decay}, "
            f"alpha={tifu.alpha}, groups={tifu.groups}"
        ),
        "LightGBM": f"{model.rounds} rounds ({timeless.rounds} without request time)",
    }
    return scorers, settings


def evaluate_split(
    split: BasketSplit,
    ks: Sequence[int],
    reranker: RerankerParams,
    tifu_grid: Sequence[TifuParams] = TIFU_GRID,
) -> SplitOutcome:
    """Fit every method on one split and measure it on the test users."""
    scorers, settings = _methods(split, reranker, tifu_grid)
    test_users, valid_users = split.users_of("test"), split.users_of("validation")
    targets, history = split.target_matrix(test_users), split.history_matrix(test_users)
    valid_targets = split.target_matrix(valid_users)
    valid_history = split.history_matrix(valid_users)
    k_max = max(ks)
    test: dict[str, dict[str, float]] = {}
    validation: dict[str, float] = {}
    for name, scorer in scorers.items():
        ranked = rank(scorer, test_users, split.n_items, k_max)
        test[name] = measure(ranked, targets, history, ks, split.n_items)
        valid_ranked = rank(scorer, valid_users, split.n_items, VALIDATION_K)
        valid = measure(valid_ranked, valid_targets, valid_history, [VALIDATION_K], split.n_items)
        validation[name] = valid[f"Recall@{VALIDATION_K}"]
    data = {
        "users": float(split.users.height),
        "items": float(split.n_items),
        "test users": float(len(test_users)),
        "validation users": float(len(valid_users)),
        **target_profile(targets, history),
    }
    return SplitOutcome(split.seed, test, validation, settings, data)


def evaluate_next_basket(
    events: pa.Table | Path,
    *,
    seed: int = 0,
    ks: Sequence[int] = (10, 20),
    n_splits: int = 5,
    config: ProtocolConfig | None = None,
    reranker: RerankerParams | None = None,
    tifu_grid: Sequence[TifuParams] = TIFU_GRID,
    dataset: str = "orders",
    progress: Callable[[str], None] | None = None,
) -> NextBasketReport:
    """Li et al.'s next-basket protocol on any order log, averaged over ``n_splits`` splits.

    ``events`` is an event table (``EVENT_SCHEMA``; only ``order`` events are read) or an
    event-log directory. Split ``i`` shuffles users with seed ``seed + i``.
    """
    if n_splits < 1 or not ks:
        raise ValueError("need at least one split and one cut-off k")
    started = time.perf_counter()
    config = config or ProtocolConfig()
    orders = order_baskets(read_orders(events), config.item_level)
    outcomes = []
    for offset in range(n_splits):
        split = build_split(orders, config=config, seed=seed + offset)
        outcomes.append(evaluate_split(split, ks, reranker or RerankerParams(), tifu_grid))
        if progress is not None:
            progress(f"{dataset}: split {offset + 1}/{n_splits} done")
    seconds = time.perf_counter() - started
    return NextBasketReport(dataset, config, tuple(ks), tuple(outcomes), seconds)


def run(
    dataset_name: str,
    source: Path,
    out: Path,
    *,
    n_splits: int = 5,
    seed: int = 0,
    item_level: ItemLevel | None = None,
) -> NextBasketReport:
    """Evaluate a public dataset (imported from ``source``) or, with ``dataset_name="events"``,
    Palate's own event-log directory; save the report and chart into ``out``.

    ``item_level`` defaults to ``"product"`` for importers with per-store item copies.
    """
    if dataset_name == EVENT_LOG:
        events: pa.Table | Path = source
    else:
        events = import_dataset(dataset_name, source).events
    level = item_level or PRODUCT_LEVEL_DATASETS.get(dataset_name, "item")
    report = evaluate_next_basket(
        events,
        seed=seed,
        n_splits=n_splits,
        config=ProtocolConfig(item_level=level),
        dataset=dataset_name,
    )
    report.save(out)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``DATASET SOURCE [--out DIR] [--splits N] [--seed S]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "dataset", help="instacart | completejourney | dhrd | events (a Palate event log)"
    )
    parser.add_argument("source", type=Path, help="folder with the dataset's files or the log")
    parser.add_argument("--item-level", choices=["item", "product"], default=None)
    parser.add_argument(
        "--out", type=Path, default=Path("reports/next_basket"), help="output folder"
    )
    parser.add_argument("--splits", type=int, default=5, help="random user splits")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first split")
    args = parser.parse_args(argv)
    report = run(
        args.dataset,
        args.source,
        args.out,
        n_splits=args.splits,
        seed=args.seed,
        item_level=args.item_level,
    )
    sys.stdout.write(report.to_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
