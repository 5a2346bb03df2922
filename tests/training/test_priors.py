"""Cold-start priors: popularity smoothed city → market → global, and the new-venue bonus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr  # type: ignore[import-untyped]

from palate.events.schema import conform
from palate.simulate import SimulationConfig, simulate
from palate.training.priors import HierarchicalPopularity, exploration_bonus

DAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
CITY_MARKET = {"hel": "fi", "tre": "fi", "oulu": "fi", "sto": "se", "gbg": "se"}
VENUE_CITY = {
    "hel-pizza": "hel", "hel-pizza-2": "hel", "hel-sushi": "hel", "hel-new-pizza": "hel",
    "hel-new-sushi": "hel", "tre-pizza": "tre", "tre-sushi": "tre",
    "sto-pizza": "sto", "sto-sushi": "sto", "gbg-pizza": "gbg", "gbg-sushi": "gbg",
}  # fmt: skip
VENUE_CUISINE = {venue: "pizza" if "pizza" in venue else "sushi" for venue in VENUE_CITY}


def _orders(counts: dict[str, int], ts: datetime = DAY) -> pl.DataFrame:
    venues = [venue for venue, n in counts.items() for _ in range(n)]
    table = conform(
        pl.DataFrame(
            {
                "event_id": [f"e{n}" for n in range(len(venues))],
                "type": ["order"] * len(venues),
                "user_id": ["u1"] * len(venues),
                "ts": [ts] * len(venues),
                "venue_id": venues,
            }
        ).to_arrow()
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _fit(counts: dict[str, int], shrinkage: float = 20.0) -> HierarchicalPopularity:
    return HierarchicalPopularity.fit(
        _orders(counts), VENUE_CITY, CITY_MARKET, venue_cuisine=VENUE_CUISINE, shrinkage=shrinkage
    )


# Finns order pizza, Swedes sushi; Tampere has a single (sushi) order.
COUNTS = {"hel-pizza": 60, "hel-pizza-2": 30, "hel-sushi": 10, "tre-sushi": 1,
          "sto-sushi": 80, "sto-pizza": 5, "gbg-sushi": 40, "gbg-pizza": 2}  # fmt: skip


def test_venues_rank_by_their_orders_and_sum_to_about_one() -> None:
    priors = _fit(COUNTS)
    hel = priors.venue_prior(["hel-pizza", "hel-pizza-2", "hel-sushi"], "hel")
    assert hel[0] > hel[1] > hel[2] > 0
    every_hel_venue = [v for v, city in VENUE_CITY.items() if city == "hel"]
    assert priors.venue_prior(every_hel_venue, "hel").sum() == pytest.approx(1.0, abs=0.05)


def test_a_city_with_few_orders_follows_its_market() -> None:
    priors = _fit(COUNTS)
    pizza, sushi = priors.cuisine_prior(["pizza", "sushi"], "tre")
    # Tampere's only order was sushi, but Finland orders pizza: the market wins.
    assert pizza > sushi
    busy = _fit(COUNTS | {"tre-sushi": 500})
    pizza, sushi = busy.cuisine_prior(["pizza", "sushi"], "tre")
    assert sushi > 0.9 > pizza


def test_a_city_without_orders_is_its_market_and_an_unknown_city_is_global() -> None:
    priors = _fit(COUNTS)
    oulu = priors.cuisine_prior(["pizza", "sushi"], "oulu")
    assert oulu[0] > oulu[1]  # Finnish
    swedish = _fit(COUNTS).cuisine_prior(["pizza", "sushi"], "gbg")
    assert swedish[1] > swedish[0]
    anywhere = priors.cuisine_prior(["pizza", "sushi", "tapas"], "reykjavik")
    pizza, sushi = sum(n for v, n in COUNTS.items() if "pizza" in v), 91 + 40
    assert anywhere[0] / anywhere[1] == pytest.approx((pizza + 1) / (sushi + 1))
    assert anywhere[2] == 0.0


def test_new_venues_start_from_their_cuisine_in_their_city() -> None:
    priors = _fit(COUNTS)
    new_pizza, new_sushi, unknown = priors.venue_prior(
        ["hel-new-pizza", "hel-new-sushi", "hel-not-in-catalog"], "hel"
    )
    assert new_pizza > new_sushi > 0
    assert unknown > 0
    assert priors.venue_prior(["nowhere"], "reykjavik")[0] == pytest.approx(1 / len(VENUE_CITY))


def test_stronger_shrinkage_pulls_venues_together() -> None:
    loose, tight = _fit(COUNTS, shrinkage=1.0), _fit(COUNTS, shrinkage=1_000.0)
    ids = ["hel-pizza", "hel-sushi"]
    loose_ratio, tight_ratio = (np.divide(*p.venue_prior(ids, "hel")) for p in (loose, tight))
    # 60 orders against 10: nearly that ratio when loose, nearly even when tight.
    assert loose_ratio > 4.0
    assert 0.5 < tight_ratio < 1.5


def test_recent_orders_outweigh_old_ones_with_a_half_life() -> None:
    events = pl.concat([_orders({"hel-pizza": 10}, DAY - timedelta(days=60)),
                        _orders({"hel-sushi": 5}, DAY)])  # fmt: skip
    ids = ["hel-pizza", "hel-sushi"]
    flat = HierarchicalPopularity.fit(events, VENUE_CITY, CITY_MARKET).venue_prior(ids, "hel")
    decayed = HierarchicalPopularity.fit(
        events, VENUE_CITY, CITY_MARKET, half_life_days=7.0
    ).venue_prior(ids, "hel")
    assert flat[0] > flat[1]
    assert decayed[1] > decayed[0]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    priors = _fit(COUNTS, shrinkage=7.0)
    priors.save(tmp_path)
    loaded = HierarchicalPopularity.load(tmp_path)
    assert loaded.shrinkage == 7.0
    ids = [*VENUE_CITY, "unknown"]
    np.testing.assert_array_equal(loaded.venue_prior(ids, "tre"), priors.venue_prior(ids, "tre"))


def test_priors_predict_the_venues_a_city_orders_next() -> None:
    result = simulate(SimulationConfig(seed=5, customers=1_000, days=21, n_cities=2))
    catalog = result.catalog
    events = pl.from_arrow(result.events)
    assert isinstance(events, pl.DataFrame)
    cutoff = events["ts"].max() - timedelta(days=7)  # type: ignore[operator]
    priors = HierarchicalPopularity.fit(
        events.filter(pl.col("ts") < cutoff),
        {v.id: v.city_id for v in catalog.venues.values()},
        {c.id: c.market_id for c in catalog.cities.values()},
        venue_cuisine={v.id: v.cuisines[0] for v in catalog.venues.values() if v.cuisines},
    )
    later = events.filter((pl.col("ts") >= cutoff) & (pl.col("type") == "order"))
    for city in catalog.cities:
        venues = [v.id for v in catalog.venues.values() if v.city_id == city]
        counts = later.filter(pl.col("venue_id").is_in(venues))["venue_id"].value_counts()
        observed = dict(counts.iter_rows())
        truth = np.array([observed.get(v, 0) for v in venues], dtype=float)
        prior = priors.venue_prior(venues, city)
        assert spearmanr(prior, truth).statistic > 0.4
        # The prior's top 5 % of venues take three times their share of next week's orders.
        top = np.argsort(-prior)[: len(venues) // 20]
        assert truth[top].sum() / truth.sum() > 3 * len(top) / len(venues)


def test_exploration_bonus_decays_with_impressions_and_age() -> None:
    age = np.array([0.0, 0.0, 0.0, 7.0, 27.0, 28.0, 100.0, np.nan, -3.0])
    shown = np.array([0, 10, 1000, 0, 0, 0, 0, 0, 0])
    bonus = exploration_bonus(age, shown, horizon_days=28.0, strength=2.0)
    assert bonus[0] == 2.0
    assert bonus[0] > bonus[1] > bonus[2] > 0
    assert bonus[0] > bonus[3] > bonus[4] > bonus[5] == 0.0
    assert bonus[6] == 0.0
    assert bonus[7] == 0.0
    assert bonus[8] == 2.0
    with pytest.raises(ValueError, match="horizon_days"):
        exploration_bonus(age, shown, horizon_days=0.0)
