"""Venue ranking on the real UCI restaurant-consumer files: leave-one-out per user."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from palate.datasets import import_dataset
from palate.training.venue_ranker.real_data import METHODS, METRICS, evaluate_real_venues
from palate.training.venue_ranker.real_split import leave_one_out
from tests.datasets.conftest import dataset_dir


@pytest.fixture(scope="module")
def uci_source() -> Path:
    return dataset_dir("uci-restaurant-consumer")


def test_every_method_is_scored_on_the_real_files(uci_source: Path) -> None:
    result = evaluate_real_venues("uci-restaurants", uci_source, seed=0)
    assert result.table["method"].to_list() == list(METHODS)
    assert result.n_users >= 100  # the 138 consumers, all with three ratings or more
    assert result.reachable == 1.0
    for name in METRICS:
        values = result.table[name].to_numpy()
        assert np.isfinite(values).all()
        assert ((values >= 0) & (values <= 1)).all()
    assert (result.table["hr@5"] <= result.table["hr@10"]).all()
    assert result.metric("popularity", "hr@10") > result.metric("random", "hr@10")
    assert result.metric("distance", "hr@10") > result.metric("popularity", "hr@10")
    assert "| logistic |" in result.to_markdown()


def test_held_out_venues_never_leak_into_training(uci_source: Path) -> None:
    split = leave_one_out(import_dataset("uci-restaurants", uci_source), seed=3)
    rows = np.arange(len(split.users))
    assert not split.seen[rows, split.target].any()
    held = set(zip(split.users.tolist(), split.venues.ids[split.target].tolist(), strict=True))
    trained = split.train_events.select("user_id", "venue_id").rows()
    assert not held & set(trained)
    assert (split.seen.sum(axis=1) >= 2).all()  # three or more venues, one held out


def test_a_radius_only_narrows_the_candidates(uci_source: Path) -> None:
    everywhere = evaluate_real_venues("uci-restaurants", uci_source, seed=1)
    near = evaluate_real_venues("uci-restaurants", uci_source, radius_km=3.0, seed=1)
    assert near.reachable < 1.0  # some targets lie farther than 3 km from the user's centroid
    assert near.metric("random", "hr@10") > everywhere.metric("random", "hr@10")
