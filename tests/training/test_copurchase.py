"""Co-purchase within a venue: complements from baskets, shrunk when rare, never across venues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from palate.events.schema import conform
from palate.simulate import SimulationConfig, simulate
from palate.training.copurchase import CoPurchase

DAY = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _orders(baskets: list[tuple[str, list[str]]]) -> pl.DataFrame:
    """One order event per ``(venue, items)`` basket, an hour apart, all by one customer."""
    table = conform(
        pl.DataFrame(
            {
                "event_id": [f"e{n}" for n in range(len(baskets))],
                "type": ["order"] * len(baskets),
                "user_id": ["u1"] * len(baskets),
                "ts": [DAY + timedelta(hours=n) for n in range(len(baskets))],
                "venue_id": [venue for venue, _ in baskets],
                "lines": [
                    [{"item_id": item, "quantity": 1, "unit_price": 5.0} for item in items]
                    for _, items in baskets
                ],
            }
        ).to_arrow()
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _pizzeria() -> list[tuple[str, list[str]]]:
    """Pizza always comes with a cola; salads with water or nothing; fries with anything."""
    return (
        [("v1", ["pizza", "cola"])] * 30
        + [("v1", ["pizza", "cola", "fries"])] * 10
        + [("v1", ["salad", "water"])] * 15
        + [("v1", ["salad"])] * 15
        + [("v1", ["salad", "fries"])] * 10
        + [("v1", ["fries", "water"])] * 5
    )


def test_cola_is_the_top_complement_of_pizza() -> None:
    model = CoPurchase.fit(_orders(_pizzeria()))
    assert model.top_complements("pizza", 1).ids.tolist() == ["cola"]
    assert model.top_complements("cola", 1).ids.tolist() == ["pizza"]
    scores = model.complements("v1", ["pizza"], ["cola", "water", "salad", "fries"])
    assert scores[0] == scores.max() > 0
    # Pizza and salad are both mains: never bought together, so they score below zero.
    assert scores[2] < 0
    assert "salad" not in model.top_complements("pizza", 5).ids


def test_rare_pairs_are_shrunk_below_frequent_pairs_with_the_same_lift() -> None:
    # 100 baskets: a∧b twice with a in 4 and b in 20; c∧d 20 times with c in 40 and d in 20.
    baskets = (
        [("v1", ["a", "b"])] * 2 + [("v1", ["a"])] * 2 + [("v1", ["b"])] * 18
        + [("v1", ["c", "d"])] * 20 + [("v1", ["c"])] * 20 + [("v1", ["e"])] * 38
    )  # fmt: skip
    model = CoPurchase.fit(_orders(baskets), shrinkage=2.0)
    rare, frequent = model.association("a", "b"), model.association("c", "d")
    assert rare.lift == pytest.approx(2.5)
    assert frequent.lift == pytest.approx(2.5)
    assert rare.pmi == pytest.approx(frequent.pmi)
    assert 0 < rare.score < frequent.score < frequent.pmi
    assert (rare.baskets, frequent.baskets) == (2, 20)
    # A negative association is shrunk toward zero alike: c never meets b (expected 8 times).
    assert model.association("c", "b").score < model.association("a", "d").score < 0


def test_min_count_drops_pairs_seen_too_rarely() -> None:
    baskets = [("v1", ["a", "b"])] * 2 + [("v1", ["c", "d"])] * 5
    model = CoPurchase.fit(_orders(baskets), min_count=3)
    assert model.association("a", "b").baskets == 0
    assert model.association("c", "d").baskets == 5


def test_items_are_never_paired_across_venues() -> None:
    baskets = [(f"v{n}", [f"pizza{n}", f"cola{n}"]) for n in (1, 2)] * 20
    baskets += [(f"v{n}", [f"salad{n}"]) for n in (1, 2)] * 20
    # A mislabelled order at v1 that holds v2's cola must not link the two venues.
    baskets += [("v1", ["pizza1", "cola2"])] * 3
    model = CoPurchase.fit(_orders(baskets))
    assert model.top_complements("pizza1", 5).ids.tolist() == ["cola1"]
    assert model.association("pizza1", "cola2").baskets == 0
    assert model.complements("v1", ["pizza1"], ["cola1", "cola2"])[1] == 0.0
    assert model.complements("v2", ["pizza1"], ["cola2"]).tolist() == [0.0]
    assert model.complements("v-unknown", ["pizza1"], ["cola1"]).tolist() == [0.0]


def test_complements_sum_or_take_the_max_over_the_basket() -> None:
    model = CoPurchase.fit(_orders(_pizzeria()))
    each = [model.complements("v1", [item], ["fries", "water"]) for item in ("pizza", "salad")]
    both = model.complements("v1", ["pizza", "salad"], ["fries", "water"])
    np.testing.assert_allclose(both, each[0] + each[1])
    best = model.complements("v1", ["pizza", "salad"], ["fries", "water"], how="max")
    np.testing.assert_allclose(best, np.maximum(each[0], each[1]))
    assert model.complements("v1", ["pizza"], ["pizza", "unknown"]).tolist() == [0.0, 0.0]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = CoPurchase.fit(_orders(_pizzeria()), shrinkage=3.0, min_count=2)
    model.save(tmp_path)
    loaded = CoPurchase.load(tmp_path)
    assert (loaded.shrinkage, loaded.min_count) == (3.0, 2)
    candidates = ["cola", "water", "salad", "fries"]
    np.testing.assert_array_equal(
        loaded.complements("v1", ["pizza"], candidates),
        model.complements("v1", ["pizza"], candidates),
    )


def test_held_out_items_score_above_random_items_of_the_venue() -> None:
    result = simulate(SimulationConfig(seed=3, customers=2_000, days=21, venues_per_city=60))
    events = pl.from_arrow(result.events)
    assert isinstance(events, pl.DataFrame)
    cutoff = events["ts"].max() - timedelta(days=4)  # type: ignore[operator]
    model = CoPurchase.fit(events.filter(pl.col("ts") < cutoff), shrinkage=2.0)
    menus: dict[str, list[str]] = {}
    for item in result.catalog.items.values():
        menus.setdefault(item.venue_id, []).append(item.id)
    rng = np.random.default_rng(0)
    wins, gaps = [], []
    held_out = events.filter((pl.col("ts") >= cutoff) & (pl.col("type") == "order"))
    for venue, lines in held_out.select("venue_id", "lines").iter_rows():
        items = [line["item_id"] for line in lines]
        if len(items) < 2:
            continue
        target = items[rng.integers(len(items))]
        others = [item for item in menus[venue] if item not in items]
        scores = model.complements(venue, [i for i in items if i != target], [target, *others])
        wins.append(np.mean(scores[0] > scores[1:]) + 0.5 * np.mean(scores[0] == scores[1:]))
        gaps.append(scores[0] - scores[1:].mean())
    assert len(wins) > 300
    assert np.mean(gaps) > 0
    assert np.mean(wins) > 0.52
