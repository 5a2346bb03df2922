"""Ordering a short list of arms (tiles, banners, sections) by their sampled click rate.

An arm's score is its click rate times ``1 + relevance_weight × relevance``: the bandit
learns what customers click, the relevance (affinity, past orders) says what should suit this
customer before there is evidence. The exploit score uses the posterior mean, the explore
score one Thompson draw; the exploration budget decides how many arms may use their draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from palate.experiments.budget import BudgetedOrder, ExplorationBudget, budgeted_order
from palate.experiments.thompson import hierarchical_posterior
from palate.features.entity_engagement import Evidence
from palate.pipeline.candidates import FloatArray


@dataclass(frozen=True, slots=True)
class BanditConfig:
    """The prior of an unseen arm and how much each level of the hierarchy weighs."""

    base_ctr: float = 0.05
    prior_strength: float = 20.0
    relevance_weight: float = 1.0


@dataclass(frozen=True, slots=True)
class ArmScores:
    """Exploit (posterior mean) and explore (one draw) scores of every arm."""

    exploit: FloatArray
    sampled: FloatArray


def arm_scores(
    levels: Sequence[Evidence],
    relevance: FloatArray,
    config: BanditConfig,
    rng: np.random.Generator,
) -> ArmScores:
    """Scores of the arms from their evidence (market → city → customer) and relevance.

    >>> none = [Evidence.none(2)] * 3
    >>> s = arm_scores(none, np.array([1.0, 0.0]), BanditConfig(), np.random.default_rng(0))
    >>> bool(s.exploit[0] > s.exploit[1])  # no evidence: relevance decides
    True
    """
    posterior = hierarchical_posterior(levels, config.base_ctr, config.prior_strength)
    boost = 1.0 + config.relevance_weight * np.clip(relevance, 0.0, None)
    return ArmScores(posterior.mean * boost, posterior.sample(rng) * boost)


def order_arms(
    levels: Sequence[Evidence],
    relevance: FloatArray,
    config: BanditConfig,
    rng: np.random.Generator,
    budget: ExplorationBudget,
    shown: int,
) -> BudgetedOrder:
    """The budgeted order of the arms (see :func:`~palate.experiments.budget.budgeted_order`)."""
    scores = arm_scores(levels, relevance, config, rng)
    return budgeted_order(scores.exploit, scores.sampled, budget, shown)
