"""The simulator's ground truth as an oracle ranking for offline evaluation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from palate.simulate.truth import GroundTruth
from palate.simulate.write import TRUTH_DIR


def oracle_scores(frame: pl.DataFrame, truth: GroundTruth) -> npt.NDArray[np.float64]:
    """The simulator's true utility of each shown venue at the request's time and place.

    Static utility plus the habit term ``habit[u]·log(1 + past orders at v)``, as the
    simulator's own ``OraclePolicy`` ranks (everything but the choice noise).
    """
    when = frame["ts"].dt.replace_time_zone(None).to_numpy().astype("datetime64[us]")
    utility = truth.utility(
        frame["user_id"].to_numpy().astype(str),
        frame["venue_id"].to_numpy().astype(str),
        when,
        lat=frame["lat"].to_numpy(),
        lon=frame["lon"].to_numpy(),
    )
    users = frame["user_id"].str.strip_prefix("u").cast(pl.Int64).to_numpy()
    past = frame["user_venue_orders_before"].to_numpy()
    return np.asarray(utility + truth.habit[users] * np.log1p(past), dtype=np.float64)


def load_oracle(data_dir: Path) -> Callable[[pl.DataFrame], npt.NDArray[np.float64]] | None:
    """The oracle of a simulated data directory; ``None`` for real (imported) data."""
    folder = data_dir / TRUTH_DIR
    if not (folder / "truth.json").exists():
        return None
    truth = GroundTruth.load(folder)
    return lambda frame: oracle_scores(frame, truth)
