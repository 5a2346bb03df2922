"""Exploration of new venues in a Discovery ranking: Thompson-sampled slots within a budget.

A venue is *new* when the catalog says it was onboarded within ``new_days`` of the request, or
when it has been shown fewer than ``min_impressions`` (decayed) times. Without exploration a
new venue has no clicks, so the ranker never learns it is good and never shows it.

Each new venue ranked below the top N (but within the first ``pool``) draws a click rate from
its Beta posterior: the city's click rate (pooled over the request's candidates of that city)
is the prior, worth ``prior_strength`` impressions, then the venue's own clicks and
impressions. A venue whose draw beats the mean click rate of the top N earns a slot; at most
``ExplorationBudget.slots(N)`` do, the highest draws first, spread evenly over the top N. A
venue shown often and never clicked draws low and stops being explored; one that is clicked
soon ranks on its own merit.

The stage runs before the business rules, so pins, sponsored slots and diversity caps still
have the last word. Explored venues keep their scorer's score (explanations add up to it), so
a boost rule, which re-sorts by score, sends them back down.

The stage is one vectorised pass over the candidate arrays, draws from a generator seeded by
the request (same request, same answer), and fails open: any error leaves the ranking as is.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from palate.catalog.columns import MISSING_DAY
from palate.catalog.index import VenueIndex
from palate.domain.requests import RankingRequest
from palate.experiments.budget import ExplorationBudget
from palate.experiments.thompson import ReseededRng, hierarchical_posterior, posterior_mean
from palate.features.engagement import EngagementConfig, VenueEngagement
from palate.features.entity_engagement import Evidence
from palate.features.service import FeatureService
from palate.pipeline.candidates import BoolArray, Candidates, FloatArray, IntArray
from palate.pipeline.trace import note
from palate.settings import NewVenueExplorationSettings

EXPLORED = "explored"
"""The 0/1 column marking the rows exploration placed (the response's ``explored``)."""
log = logging.getLogger("palate.exploration")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_day(moment: datetime) -> int:
    """Days since 1970-01-01 of an aware datetime, in UTC.

    >>> epoch_day(datetime(1970, 1, 2, 23, tzinfo=UTC))
    1
    """
    return (moment.astimezone(UTC) - _EPOCH).days


def click_evidence(ctr: FloatArray, impressions: FloatArray, prior: EngagementConfig) -> Evidence:
    """Decayed clicks and impressions per candidate, read back from the ``ctr`` posterior mean.

    ``ctr = (clicks + prior_ctr · k) / (impressions + k)``, so clicks follow exactly (up to
    the clip that keeps lost impression beacons from pushing a rate over 1).
    """
    impressions = np.maximum(impressions, 0.0)
    strength = prior.prior_strength
    clicks = ctr * (impressions + strength)
    clicks -= prior.prior_ctr * strength
    return Evidence(
        np.minimum(np.maximum(clicks, 0.0, out=clicks), impressions, out=clicks), impressions
    )


def city_evidence(codes: npt.NDArray[np.integer], venue: Evidence, rows: IntArray) -> Evidence:
    """The city totals (clicks, impressions) over all the request's candidates, for ``rows``.

    The candidates of a Discovery request nearly always share one city: then the totals are
    two sums, without grouping, answered as one value each that broadcasts over ``rows``.
    """
    if not len(codes) or codes.min() == codes.max():
        clicks = np.add.reduce(venue.clicks, keepdims=True)
        return Evidence(clicks, np.add.reduce(venue.impressions, keepdims=True))
    codes = codes.astype(np.intp, copy=False)
    size = int(codes.max()) + 1
    # (weighted counts are float64 already; the stubs type every bincount as integers)
    clicks_by_city = np.bincount(codes, venue.clicks, size).astype(np.float64, copy=False)
    impressions_by_city = np.bincount(codes, venue.impressions, size).astype(np.float64, copy=False)
    at = codes.take(rows)
    return Evidence(clicks_by_city.take(at), impressions_by_city.take(at))


def spread_slots(count: int, shown: int) -> IntArray:
    """``count`` positions spread evenly inside the first ``shown`` (never the very first).

    >>> spread_slots(1, 10).tolist(), spread_slots(2, 50).tolist()
    ([5], [16, 33])
    """
    # a slot or two: Python ints cost less than three array operations
    return np.array([k * shown // (count + 1) for k in range(1, count + 1)], dtype=np.int32)


def placed_order(length: int, rows: IntArray, slots: IntArray) -> IntArray:
    """A permutation putting ``rows[i]`` at ``slots[i]``; every other row keeps its order.

    Only the prefix up to the last row or slot involved moves; the rest is the identity.

    >>> placed_order(6, np.array([4]), np.array([1])).tolist()
    [0, 4, 1, 2, 3, 5]
    """
    order = np.arange(length, dtype=np.int32)
    moves = sorted(zip(slots.tolist(), rows.tolist(), strict=True))
    if not moves:
        return order
    # A slot or two in a prefix of a few hundred rows: list edits (memmoves) beat the masks.
    prefix = list(range(max(max(m) for m in moves) + 1))
    for row in sorted((row for _, row in moves), reverse=True):
        del prefix[row]
    for slot, row in moves:  # ascending slots: each lands where it is asked to
        prefix.insert(slot, row)
    order[: len(prefix)] = prefix
    return order


def best_beating(draws: FloatArray, benchmark: float, slots: int) -> npt.NDArray[np.intp]:
    """Indices of the draws above ``benchmark``, highest first (ties by index), at most ``slots``.

    >>> best_beating(np.array([0.2, 0.5, 0.1, 0.5]), 0.15, 2).tolist()
    [1, 3]
    """
    beat = np.flatnonzero(draws > benchmark)
    return beat[np.argsort(-draws[beat], kind="stable")][:slots]


class NewVenueExploration:
    """Selector: Thompson-sampled slots for new venues in the top N (see the module)."""

    name = "new_venue_exploration"

    def __init__(
        self,
        index: VenueIndex,
        features: FeatureService,
        settings: NewVenueExplorationSettings | None = None,
    ) -> None:
        self.index = index
        self.features = features
        self.settings = settings or NewVenueExplorationSettings()
        self.budget = ExplorationBudget(self.settings.max_slots, self.settings.max_share)
        self._reseeded = ReseededRng()

    def select(self, request: RankingRequest, candidates: Candidates) -> Candidates:
        """The ranking with explored venues placed and marked; unchanged when none qualifies."""
        if not self.settings.enabled:
            return candidates
        try:
            return self._explore(request, candidates)
        except Exception as exc:  # exploration is optional: the ranking stands without it
            log.warning("new-venue exploration failed: %r", exc)
            note(failed=type(exc).__name__)
            return candidates

    def _explore(self, request: RankingRequest, candidates: Candidates) -> Candidates:
        shown = min(request.limit, len(candidates))
        slots = self.budget.slots(shown)
        engagement = self.features.features.get("venue_engagement")
        if not slots or not isinstance(engagement, VenueEngagement):
            return candidates
        try:
            ctr, impressions = candidates.feature("ctr"), candidates.feature("impressions")
        except KeyError:
            note(skipped="no click-through columns")
            return candidates
        rows = self._eligible(request, candidates.positions, impressions, shown)
        if not len(rows):
            return candidates
        venue = click_evidence(ctr, impressions, engagement.config)
        draws = self._draws(request, candidates.positions, venue, rows, engagement.config)
        benchmark = float(np.add.reduce(ctr[:shown])) / shown
        best = best_beating(draws, benchmark, slots)
        if not len(best):
            note(eligible=len(rows), benchmark=round(benchmark, 6))
            return candidates
        return self._place(candidates, rows[best], draws[best], shown, len(rows), benchmark)

    def _eligible(
        self, request: RankingRequest, positions: IntArray, impressions: FloatArray, shown: int
    ) -> IntArray:
        """New venues ranked below the top N but within the pool."""
        s = self.settings
        window = slice(shown, s.pool)
        onboarded = self.index.onboarded_day.take(positions[window])
        since = max(epoch_day(request.when) - s.new_days, MISSING_DAY + 1)  # no date: not recent
        eligible: BoolArray = onboarded >= since
        eligible |= impressions[window] < s.min_impressions  # unseen
        rows: IntArray = np.flatnonzero(eligible).astype(np.int32)
        rows += shown
        return rows

    def _draws(
        self,
        request: RankingRequest,
        positions: IntArray,
        venue: Evidence,
        rows: IntArray,
        prior: EngagementConfig,
    ) -> FloatArray:
        """One click-rate draw per eligible row from its city-then-venue posterior."""
        strength = self.settings.prior_strength
        own = Evidence(venue.clicks.take(rows), venue.impressions.take(rows))
        codes = self._city_codes(positions)
        if codes is None:  # one city: its posterior mean is one number, the venues' prior
            clicks, impressions = np.add.reduce(venue.clicks), np.add.reduce(venue.impressions)
            city = posterior_mean(float(clicks), float(impressions), prior.prior_ctr, strength)
            posterior = hierarchical_posterior([own], city, strength)
        else:
            levels = [city_evidence(codes, venue, rows), own]
            posterior = hierarchical_posterior(levels, prior.prior_ctr, strength)
        return posterior.sample(self._rng(request))

    def _city_codes(self, positions: IntArray) -> npt.NDArray[np.int32] | None:
        """The candidates' city codes, or None when they all share one city (the usual
        Discovery request: then the city level needs no per-row arrays)."""
        city = self.index.city
        if len(city.vocabulary) <= 1:
            return None
        codes = city.codes.take(positions)
        return None if not len(codes) or codes.min() == codes.max() else codes

    def _rng(self, request: RankingRequest) -> np.random.Generator:
        where = f"{request.location.lat:.5f},{request.location.lon:.5f}"
        keys = (self.name, request.user_id, request.when.isoformat(), where)
        return self._reseeded(self.settings.seed, *keys)

    def _place(
        self,
        candidates: Candidates,
        chosen: IntArray,
        draws: FloatArray,
        shown: int,
        eligible: int,
        benchmark: float,
    ) -> Candidates:
        """Move the chosen rows into evenly spread slots of the top N and mark them."""
        slots = spread_slots(len(chosen), shown)
        order = placed_order(len(candidates), chosen, slots)
        placed = candidates.take(order)  # scores stay the scorer's, as explanations add up to
        mark = np.zeros(len(candidates))
        mark[slots] = 1.0
        placed.features[EXPLORED] = mark
        ids = self.index.venue_ids.take(candidates.positions.take(chosen)).tolist()
        moves = zip(ids, chosen.tolist(), slots.tolist(), draws.round(6).tolist(), strict=True)
        note(
            explored=[[venue, src, dst, p] for venue, src, dst, p in moves],
            eligible=eligible,
            benchmark=round(benchmark, 6),
        )
        return placed
