"""Embeddings from implicit feedback: held-out venues rank above what else delivers there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from palate.catalog.geo_grid import haversine_many
from palate.events.schema import conform
from palate.simulate import SimulationConfig, SimulationResult, simulate
from palate.training.embeddings import (
    AlsParams,
    Embeddings,
    FeedbackWeights,
    interactions,
    train_item_embeddings,
    train_venue_embeddings,
    venue_feedback,
)

HELD_OUT_DAYS = 4
DAY = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def simulated() -> SimulationResult:
    return simulate(SimulationConfig(seed=3, customers=1_500, days=21))


@pytest.fixture(scope="module")
def split(simulated: SimulationResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Events before the last days (training) and the orders placed in them (held out)."""
    events = pl.from_arrow(simulated.events)
    assert isinstance(events, pl.DataFrame)
    cutoff = events["ts"].max() - timedelta(days=HELD_OUT_DAYS)  # type: ignore[operator]
    train = events.filter(pl.col("ts") < cutoff)
    held_out = events.filter((pl.col("ts") >= cutoff) & (pl.col("type") == "order"))
    return train, held_out


@pytest.fixture(scope="module")
def venue_embeddings(split: tuple[pl.DataFrame, pl.DataFrame]) -> Embeddings:
    return train_venue_embeddings(split[0], params=AlsParams(seed=5))


def _orders(rows: list[tuple[str, str, datetime]]) -> pl.DataFrame:
    """Order events ``(user, venue, ts)`` whose lines hold the venue's single item ``i<venue>``."""
    table = conform(
        pl.DataFrame(
            {
                "event_id": [f"e{n}" for n in range(len(rows))],
                "type": ["order"] * len(rows),
                "user_id": [r[0] for r in rows],
                "ts": [r[2] for r in rows],
                "venue_id": [r[1] for r in rows],
                "lines": [
                    [{"item_id": f"i{r[1]}", "quantity": 1, "unit_price": 9.0}] for r in rows
                ],
            }
        ).to_arrow()
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_held_out_venues_score_above_random_deliverable_venues(
    simulated: SimulationResult,
    split: tuple[pl.DataFrame, pl.DataFrame],
    venue_embeddings: Embeddings,
) -> None:
    venues = [v for v in simulated.catalog.venues.values() if v.takes_orders]
    ids = np.array([v.id for v in venues])
    lat = np.array([v.location.lat for v in venues])
    lon = np.array([v.location.lon for v in venues])
    radius = np.array([v.delivery_radius_m for v in venues])
    ordered_before = set(
        split[0].filter(pl.col("type") == "order").select("user_id", "venue_id").iter_rows()
    )
    wins, wins_new, gaps = [], [], []
    for user, venue, o_lat, o_lon in (
        split[1].select("user_id", "venue_id", "lat", "lon").iter_rows()
    ):
        if venue_embeddings.user_vector(user) is None:
            continue
        deliverable = ids[(haversine_many(lat, lon, o_lat, o_lon) <= radius) & (ids != venue)]
        others = venue_embeddings.scores(user, deliverable)
        target = venue_embeddings.scores(user, [venue])[0]
        win = float(np.mean(target > others) + 0.5 * np.mean(target == others))
        wins.append(win)
        gaps.append(target - others.mean())
        if (user, venue) not in ordered_before:
            wins_new.append(win)
    assert len(wins) > 200
    assert len(wins_new) > 50
    # The probability that the ordered venue outscores a random deliverable one (AUC).
    assert np.mean(wins) > 0.75
    assert np.mean(gaps) > 0
    # Not only repeat orders: venues new to the customer also rank above chance.
    assert np.mean(wins_new) > 0.6


def test_training_is_deterministic_for_a_seed(split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    first = train_venue_embeddings(split[0], params=AlsParams(seed=5, iterations=5))
    again = train_venue_embeddings(split[0], params=AlsParams(seed=5, iterations=5, threads=2))
    other = train_venue_embeddings(split[0], params=AlsParams(seed=6, iterations=5))
    np.testing.assert_array_equal(first.user_factors, again.user_factors)
    np.testing.assert_array_equal(first.entity_factors, again.entity_factors)
    assert not np.allclose(first.entity_factors, other.entity_factors)


def test_scores_are_dot_products_with_a_default_for_the_unknown(
    venue_embeddings: Embeddings,
) -> None:
    user = str(venue_embeddings.user_ids[0])
    venues = [
        str(venue_embeddings.entity_ids[3]),
        "v-never-seen",
        str(venue_embeddings.entity_ids[1]),
    ]
    vector = venue_embeddings.user_vector(user)
    assert vector is not None
    scores = venue_embeddings.scores(user, venues, unknown=np.array([7.0, 8.0, 9.0]))
    assert scores[0] == pytest.approx(float(venue_embeddings.entity_factors[3] @ vector), rel=1e-5)
    assert scores[1] == 8.0
    assert scores[2] == pytest.approx(float(venue_embeddings.entity_factors[1] @ vector), rel=1e-5)
    assert venue_embeddings.scores("u-never-seen", venues, unknown=0.5).tolist() == [0.5] * 3
    assert venue_embeddings.user_vector("u-never-seen") is None


def test_top_k_ranks_known_candidates_by_score(venue_embeddings: Embeddings) -> None:
    user = str(venue_embeddings.user_ids[10])
    candidates = np.concatenate([venue_embeddings.entity_ids[::3], ["v-never-seen"]])
    top = venue_embeddings.top_k(user, candidates, 5)
    scores = venue_embeddings.scores(user, candidates, unknown=-np.inf)
    np.testing.assert_array_equal(top.ids, candidates[top.positions])
    np.testing.assert_allclose(top.scores, np.sort(scores)[::-1][:5], rtol=1e-6)
    assert "v-never-seen" not in top.ids
    assert len(venue_embeddings.top_k("u-never-seen", candidates, 5).ids) == 0
    assert len(venue_embeddings.top_k(user, candidates[:3], 10).ids) == 3


def test_similar_excludes_the_entity_and_sorts_by_cosine(venue_embeddings: Embeddings) -> None:
    venue = str(venue_embeddings.entity_ids[0])
    similar = venue_embeddings.similar(venue, 4)
    assert venue not in similar.ids
    assert len(similar.ids) == 4
    assert np.all(np.diff(similar.scores) <= 0)
    assert np.all(similar.scores <= 1.0 + 1e-6)
    assert len(venue_embeddings.similar("v-never-seen", 4).ids) == 0


def test_save_and_load_round_trip(venue_embeddings: Embeddings, tmp_path: Path) -> None:
    venue_embeddings.save(tmp_path)
    loaded = Embeddings.load(tmp_path, "venue")
    np.testing.assert_array_equal(loaded.user_ids, venue_embeddings.user_ids)
    np.testing.assert_array_equal(loaded.entity_factors, venue_embeddings.entity_factors)
    assert loaded.metadata == venue_embeddings.metadata
    user = str(venue_embeddings.user_ids[2])
    ids = venue_embeddings.entity_ids[:20]
    np.testing.assert_array_equal(loaded.scores(user, ids), venue_embeddings.scores(user, ids))
    with pytest.raises(FileNotFoundError):
        Embeddings.load(tmp_path, "item")


def test_recent_feedback_outweighs_old_feedback() -> None:
    rows = [("u1", "old", DAY - timedelta(days=60))] * 3 + [("u1", "new", DAY)] * 3
    frame = venue_feedback(_orders(rows), {"order"})
    decayed = interactions(frame, weights=FeedbackWeights(), alpha=1.0, half_life_days=14.0)
    flat = interactions(frame, weights=FeedbackWeights(), alpha=1.0, half_life_days=None)
    old, new = (int(np.flatnonzero(decayed.entity_ids == v)[0]) for v in ("old", "new"))
    assert decayed.matrix[0, new] > decayed.matrix[0, old] > 1.0
    assert flat.matrix[0, new] == flat.matrix[0, old]


def test_impressions_carry_no_weight_by_default() -> None:
    frame = pl.DataFrame(
        {"user_id": ["u1", "u1"], "entity_id": ["v1", "v2"], "type": ["click", "impression"],
         "ts": [DAY, DAY]}
    )  # fmt: skip
    data = interactions(frame, weights=FeedbackWeights(), alpha=1.0, half_life_days=None)
    assert data.entity_ids.tolist() == ["v1"]


def test_item_embeddings_group_items_bought_by_the_same_customers() -> None:
    rng = np.random.default_rng(0)
    rows: list[tuple[str, str, datetime]] = []
    for user in range(40):
        group = ("a1", "a2", "a3") if user % 2 else ("b1", "b2", "b3")
        for n in range(6):
            rows.append((f"u{user}", str(rng.choice(group)), DAY + timedelta(hours=n)))
    embeddings = train_item_embeddings(_orders(rows), params=AlsParams(seed=1))
    assert embeddings.kind == "item"
    assert set(embeddings.entity_ids.tolist()) == {f"i{g}{n}" for g in "ab" for n in (1, 2, 3)}
    closest = embeddings.similar("ia1", 2).ids.tolist()
    assert sorted(closest) == ["ia2", "ia3"]
    user_a = "u1"  # odd users buy the a items
    top = embeddings.top_k(user_a, embeddings.entity_ids, 3)
    assert sorted(top.ids.tolist()) == ["ia1", "ia2", "ia3"]
