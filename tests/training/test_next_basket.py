"""Next-basket evaluation: protocol, baselines, the learned re-ranker, reports, real data."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from palate.events import EventLog, conform
from palate.training.metrics import IntArray, hit_matrix, mean_defined, recall_at_k, relevant_counts
from palate.training.next_basket.baselines import g_topfreq, gp_topfreq, p_topfreq
from palate.training.next_basket.evaluate import evaluate_next_basket, main, run
from palate.training.next_basket.models import TIFU_GRID
from palate.training.next_basket.protocol import (
    BasketSplit,
    ProtocolConfig,
    build_split,
    earlier,
    split_users,
)
from palate.training.next_basket.reranker import RerankerParams, fit_reranker
from palate.training.next_basket.scoring import Scorer, rank

START = datetime(2024, 1, 1, tzinfo=UTC)
LOOSE = ProtocolConfig(min_item_count=1)
FAST = RerankerParams(earlier_views=1, max_rounds=60)


def order_log(baskets: list[tuple[str, int, list[str]]], venue: str | list[str] = "v") -> pa.Table:
    """Order events from ``(user, day, items)`` triples, at one venue or one per basket."""
    venues = [venue] * len(baskets) if isinstance(venue, str) else venue
    lines = [
        [{"item_id": i, "quantity": 1, "unit_price": 1.0} for i in items] for *_, items in baskets
    ]
    return conform(
        pa.table(
            {
                "event_id": [f"e{n}" for n in range(len(baskets))],
                "type": ["order"] * len(baskets),
                "user_id": [user for user, _, _ in baskets],
                "ts": [START + timedelta(days=day) for _, day, _ in baskets],
                "venue_id": venues,
                "order_id": [f"o{n}" for n in range(len(baskets))],
                "lines": lines,
            }
        )
    )


def random_log(n_users: int, n_baskets: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    rows = [
        (
            f"u{u:03d}",
            b * 7 + int(rng.integers(0, 3)),
            [f"i{i}" for i in rng.choice(30, 4, replace=False)],
        )
        for u in range(n_users)
        for b in range(n_baskets)
    ]
    return order_log(rows)


def recall_at_10(scorer: Scorer, split: BasketSplit, users: IntArray) -> float:
    ranked = rank(scorer, users, split.n_items, 10)
    targets = split.target_matrix(users)
    return mean_defined(recall_at_k(hit_matrix(ranked, targets), relevant_counts(targets), 10))


def test_user_split_is_deterministic_disjoint_and_72_8_20() -> None:
    users = [f"u{i}" for i in range(500)]
    roles = split_users(users, seed=7, shares=(0.72, 0.08, 0.2))
    # Roles follow the ids, not the order they come in.
    assert split_users(users[::-1], seed=7, shares=(0.72, 0.08, 0.2)) == roles[::-1]
    assert roles != split_users(users, seed=8, shares=(0.72, 0.08, 0.2))
    assert [roles.count(r) for r in ("train", "validation", "test")] == [360, 40, 100]

    split = build_split(random_log(50, 4), config=LOOSE, seed=3)
    again = build_split(random_log(50, 4), config=LOOSE, seed=3)
    assert split.users.equals(again.users)
    groups = [set(split.users_of(r).tolist()) for r in ("train", "validation", "test")]
    assert sum(len(g) for g in groups) == len(set().union(*groups)) == 50
    assert [len(g) for g in groups] == [36, 4, 10]


def test_targets_are_each_users_last_basket_and_history_the_rest() -> None:
    log = order_log(
        [("a", 3, ["x", "y"]), ("a", 1, ["x"]), ("a", 2, ["z"]), ("b", 0, ["x"]), ("b", 5, ["z"])]
    )
    split = build_split(log, config=ProtocolConfig(min_baskets=2, min_item_count=0))
    # With a threshold, an item never bought in any history ("y") leaves every basket.
    rare = ProtocolConfig(min_baskets=2, min_item_count=1)
    assert "y" not in build_split(log, config=rare).item_ids
    everyone = np.arange(split.n_users)
    names = split.item_ids.to_list()
    targets = split.target_matrix(everyone).toarray()
    history = split.history_matrix(everyone).toarray()
    by_user = dict(zip(split.user_ids.to_list(), range(split.n_users), strict=True))
    assert {names[i] for i in np.flatnonzero(targets[by_user["a"]])} == {"x", "y"}
    assert {names[i] for i in np.flatnonzero(history[by_user["a"]])} == {"x", "z"}
    assert {names[i] for i in np.flatnonzero(targets[by_user["b"]])} == {"z"}
    shifted = earlier(split, 1)
    assert shifted.users.get_column("user_id").to_list() == ["a"]
    assert {names[i] for i in np.flatnonzero(shifted.target_matrix(np.array([0])).toarray())} == {
        "z"
    }


def test_protocol_filters_short_and_long_histories_and_rare_items() -> None:
    rows = [("short", d, ["x"]) for d in range(2)] + [("long", d, ["x"]) for d in range(6)]
    rows += [("ok", d, ["x", "rare"] if d == 0 else ["x"]) for d in range(4)]
    config = ProtocolConfig(min_baskets=3, max_baskets=5, min_item_count=2)
    split = build_split(order_log(rows), config=config)
    assert split.user_ids.to_list() == ["ok"]
    assert split.item_ids.to_list() == ["x"]


def test_product_level_merges_the_same_product_across_stores() -> None:
    rows = [("a", d, [f"s{d % 2}:milk"]) for d in range(3)]
    log = order_log(rows, venue=[items[0].split(":")[0] for _, _, items in rows])
    by_item = build_split(log, config=LOOSE)
    by_product = build_split(log, config=ProtocolConfig(min_item_count=1, item_level="product"))
    assert by_item.item_ids.to_list() == ["s0:milk", "s1:milk"]
    assert by_product.item_ids.to_list() == ["milk"]


def test_an_event_log_directory_gives_the_same_split(tmp_path: Path) -> None:
    log = random_log(30, 4)
    EventLog(tmp_path).append(log)
    assert build_split(tmp_path, config=LOOSE).lines.equals(build_split(log, config=LOOSE).lines)


def test_frequency_baselines_on_a_tiny_log() -> None:
    rows = [("a", 0, ["milk", "bread"]), ("a", 1, ["milk", "eggs"]), ("a", 2, ["milk"])]
    rows += [(f"p{n}", d, ["cola", "chips"]) for n in range(3) for d in range(3)]
    rows += [("a", 9, ["target"])]
    split = build_split(order_log(rows), config=ProtocolConfig(min_item_count=0))
    names = split.item_ids.to_list()
    a = np.array([split.user_ids.to_list().index("a")])

    def top(scorer: Scorer, k: int = 5) -> list[str | None]:
        return [names[i] if i >= 0 else None for i in rank(scorer, a, split.n_items, k)[0]]

    # milk in 3 baskets; eggs beats bread on recency; then the popular items a never bought.
    assert top(p_topfreq(split)) == ["milk", "eggs", "bread", None, None]
    assert top(gp_topfreq(split)) == ["milk", "eggs", "bread", "chips", "cola"]
    assert top(g_topfreq(split), 3) == ["chips", "cola", "milk"]


def periodic_log(n_users: int = 200, n_baskets: int = 13, seed: int = 5) -> pa.Table:
    """Each user buys 30 items, every one exactly every third basket (10 due per basket).

    Frequencies tie, so GP-TopFreq falls back on recency and picks the items bought last,
    which are the ones NOT due; a model that reads the purchase rhythm gets the due ones.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        items = rng.choice(300, 30, replace=False).reshape(3, 10)
        for b in range(n_baskets):
            rows.append((f"u{u:03d}", b * 3, [f"i{i}" for i in items[b % 3]]))
    return order_log(rows)


def test_reranker_beats_gp_topfreq_on_a_planted_purchase_rhythm() -> None:
    split = build_split(periodic_log(), config=ProtocolConfig(min_item_count=5), seed=0)
    test = split.users_of("test")
    baseline = recall_at_10(gp_topfreq(split), split, test)
    model = recall_at_10(fit_reranker(split, FAST), split, test)
    assert baseline < 0.5
    assert model > 0.9
    assert model > baseline + 0.4


def test_report_markdown_and_chart(tmp_path: Path) -> None:
    report = evaluate_next_basket(
        periodic_log(n_users=120), n_splits=2, tifu_grid=TIFU_GRID[:2], reranker=FAST
    )
    assert len(report.splits) == 2
    assert report.methods[:3] == ("G-TopFreq", "P-TopFreq", "GP-TopFreq")
    assert report.best() == "LightGBM re-ranker"
    text = report.to_markdown()
    for method in report.methods:
        assert f"| {method} |" in text
    assert "Recall@20" in text
    assert "NDCG@10" in text
    markdown, chart = report.save(tmp_path)
    assert markdown.read_text(encoding="utf-8") == text
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _shared_data() -> Path:
    override = os.environ.get("PALATE_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def test_model_beats_gp_topfreq_on_the_real_instacart_sample(tmp_path: Path) -> None:
    source = _shared_data() / "instacart-sample"
    if not source.is_dir():
        pytest.skip(f"public dataset not available at {source}")
    report = run("instacart", source, tmp_path, n_splits=1)
    split = report.splits[0]
    assert split.data["test users"] > 90
    assert 0.6 < split.data["repeat share"] < 0.95
    model = report.metric("LightGBM re-ranker", "Recall@10")
    assert model >= report.metric("GP-TopFreq", "Recall@10")
    assert (tmp_path / "next_basket_instacart.png").is_file()


def test_command_line_evaluates_an_event_log_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    EventLog(tmp_path / "events").append(periodic_log(n_users=100))
    argv = ["events", str(tmp_path / "events"), "--out", str(tmp_path / "out"), "--splits", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| LightGBM re-ranker |" in printed
    assert (tmp_path / "out" / "next_basket_events.md").read_text(encoding="utf-8") == printed


def test_evaluation_rejects_logs_without_enough_history() -> None:
    log = order_log([("a", 0, ["x"]), ("a", 1, ["y"])])
    with pytest.raises(ValueError, match="enough baskets"):
        evaluate_next_basket(log, n_splits=1)
    assert pl.DataFrame({"x": [1]}).height == 1
