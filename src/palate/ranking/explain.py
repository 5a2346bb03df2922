"""Why each returned venue (or item) ranks where it does: contributions and the rules that fired.

Computed only when a request asks (``"explain": true``) and only for the venues it returns.
For the learned scorer the contributions are LightGBM's ``pred_contrib`` (TreeSHAP) on the
native booster: the compiled model cannot produce them, so the native model is loaded lazily
from the version's ``model.txt`` and cached per version. ``base`` plus the contributions is the
model's raw score for the venue. For the heuristic scorer they are its additive terms, which sum
to its score. Rule stages move scores and positions after scoring, so a served score can differ
from ``base + sum(contributions)`` when a rule fired; ``rules`` names those rules.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from palate.catalog.item_query import ItemQuery
from palate.pipeline.candidates import Candidates, FloatArray
from palate.pipeline.trace import StageTrace
from palate.ranking.heuristic import HeuristicWeights, heuristic_terms
from palate.ranking.item_scorers import (
    CartScorer,
    ItemHeuristicScorer,
    ItemPopularityScorer,
    ItemWeights,
    MenuOrderScorer,
    item_terms,
    summed,
)
from palate.ranking.learned import feature_matrix
from palate.ranking.model_version import ModelVersion

# Keys of a stage's trace details that list ``[venue_id, from, to]`` or venue ids it touched.
_TOUCH_KEYS = ("moved", "placed", "removed")
_CACHE_SIZE = 4
# A served item score further than this from its terms' sum was moved by a boost rule.
_BOOST_TOLERANCE = 1e-9
_ITEM_HEURISTICS = {s.name: s.cart for s in (ItemHeuristicScorer, CartScorer)}
_ITEM_FALLBACKS = {s.name: s() for s in (ItemPopularityScorer, MenuOrderScorer)}


@dataclass(frozen=True, slots=True)
class Explanation:
    """One venue's explanation, as the response carries it."""

    scorer: str
    base: float
    contributions: dict[str, float]
    rules: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (values rounded to 6 decimals, like scores)."""
        return {
            "scorer": self.scorer,
            "base": round(self.base, 6),
            "contributions": {k: round(v, 6) for k, v in self.contributions.items()},
            "rules": list(self.rules),
        }


class BoosterCache:
    """Native LightGBM boosters by model file, loaded on first use; a few versions kept."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._size = size
        self._boosters: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, version: ModelVersion) -> Any:
        """The booster of ``version`` (loaded once, then shared)."""
        key = (version.label, str(version.model_file))
        with self._lock:
            booster = self._boosters.get(key)
            if booster is None:
                booster = _load_booster(version.model_file)
                if len(self._boosters) >= self._size:
                    self._boosters.pop(next(iter(self._boosters)))
                self._boosters[key] = booster
            return booster


def _load_booster(model_file: Path) -> Any:
    import lightgbm  # only when an explanation is asked for

    return lightgbm.Booster(model_file=str(model_file))


BOOSTERS = BoosterCache()


def tree_contributions(
    version: ModelVersion, candidates: Candidates, cache: BoosterCache = BOOSTERS
) -> tuple[FloatArray, np.ndarray]:
    """Per-row base values and the ``(rows, features)`` contributions of ``version``'s trees."""
    matrix = feature_matrix(candidates, version.features)
    booster = cache.get(version)
    contrib = np.asarray(booster.predict(matrix, pred_contrib=True, num_threads=1), np.float64)
    base: FloatArray = contrib[:, -1].copy()
    return base, contrib[:, :-1]


def _touched_ids(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(entry[0]) if isinstance(entry, list | tuple) else str(entry) for entry in value]


def rules_by_venue(stages: Sequence[StageTrace]) -> dict[str, list[str]]:
    """For each venue a rule stage moved, placed or removed: that stage's rule ids, in order.

    A stage records the rules it applied, not which rule moved which venue, so a venue moved by
    a stage with two boost rules is credited with both.

    >>> moved = StageTrace("boosts", "selector", 1.0, 3, 3, details={"moved": [["v2", 2, 0]],
    ...     "rules": ["b1"]})
    >>> rules_by_venue([moved])
    {'v2': ['b1']}
    """
    fired: dict[str, list[str]] = {}
    for stage in stages:
        details = stage.details or {}
        rule_ids = [str(r) for r in _as_list(details.get("rules"))]
        if not rule_ids:
            continue
        for key in _TOUCH_KEYS:
            for venue in _touched_ids(details.get(key)):
                seen = fired.setdefault(venue, [])
                seen.extend(r for r in rule_ids if r not in seen)
    return fired


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def explain(
    scorer: str,
    returned: Candidates,
    venue_ids: Sequence[str],
    stages: Sequence[StageTrace],
    *,
    model: ModelVersion | None = None,
    weights: HeuristicWeights | None = None,
    peak: float = 0.0,
) -> list[Explanation]:
    """One explanation per returned row (``venue_ids`` aligned with ``returned``).

    Scorers other than ``learned`` (with its ``model``) and ``heuristic`` (with ``weights``)
    get no contributions, only the rules.
    """
    fired = rules_by_venue(stages)
    base, columns = _contributions(scorer, returned, model, weights, peak)
    names = list(columns)
    values = np.column_stack([columns[n] for n in names]) if names else None
    return [
        Explanation(
            scorer=scorer,
            base=float(base[row]),
            contributions={}
            if values is None
            else dict(zip(names, values[row].tolist(), strict=True)),
            rules=fired.get(str(venue), []),
        )
        for row, venue in enumerate(venue_ids)
    ]


def _contributions(
    scorer: str,
    returned: Candidates,
    model: ModelVersion | None,
    weights: HeuristicWeights | None,
    peak: float,
) -> tuple[FloatArray, dict[str, FloatArray]]:
    count = len(returned)
    if scorer == "learned" and model is not None and count:
        base, matrix = tree_contributions(model, returned)
        return base, {name: matrix[:, j] for j, name in enumerate(model.features)}
    if scorer == "heuristic" and weights is not None and count:
        return np.zeros(count), heuristic_terms(returned, weights, peak)
    return np.zeros(count), {}


def explain_items(
    scorer: str,
    query: ItemQuery,
    returned: Candidates,
    stages: Sequence[StageTrace],
    weights: ItemWeights | None = None,
) -> list[Explanation]:
    """One explanation per returned item (in venue or cart), whose contributions sum to its score.

    The item heuristics' contributions are their additive terms (:func:`item_terms`, normalised
    by the peaks the scorer recorded in its trace); a fallback scorer's only term is its own
    score. Boosts rescale scores after scoring, so when a boost fired a ``boost`` term carries
    the difference, and the boost rules are credited to the items whose score they changed.
    """
    ids = [str(i) for i in query.columns.item_ids[returned.positions]]
    columns = _item_contributions(scorer, query, returned, stages, weights)
    fired = rules_by_venue(stages)
    boosts = _stage_rules(stages, "boost")
    if columns and boosts and returned.scores is not None:
        columns["boost"] = returned.scores - summed(columns, len(returned))
        for item_id, delta in zip(ids, columns["boost"].tolist(), strict=True):
            if abs(delta) > _BOOST_TOLERANCE:
                seen = fired.setdefault(item_id, [])
                seen.extend(r for r in boosts if r not in seen)
    return [
        Explanation(
            scorer=scorer,
            base=0.0,
            contributions={name: float(values[row]) for name, values in columns.items()},
            rules=fired.get(item_id, []),
        )
        for row, item_id in enumerate(ids)
    ]


def _item_contributions(
    scorer: str,
    query: ItemQuery,
    returned: Candidates,
    stages: Sequence[StageTrace],
    weights: ItemWeights | None,
) -> dict[str, FloatArray]:
    if scorer in _ITEM_HEURISTICS:
        peaks = _scorer_peaks(stages, scorer)
        cart = _ITEM_HEURISTICS[scorer]
        w = weights or ItemWeights()
        return item_terms(w, query, returned, cart=cart, peaks=peaks)
    fallback = _ITEM_FALLBACKS.get(scorer)
    if fallback is not None:
        return {scorer: np.asarray(fallback.score(query, returned), dtype=np.float64)}
    return {}


def _scorer_peaks(stages: Sequence[StageTrace], scorer: str) -> dict[str, float] | None:
    """The normalisers the scorer recorded (None when it recorded none)."""
    for stage in stages:
        if stage.stage == scorer and stage.error is None and stage.details:
            peaks = stage.details.get("peaks")
            if isinstance(peaks, dict):
                return {str(k): float(v) for k, v in peaks.items()}
    return None


def _stage_rules(stages: Sequence[StageTrace], name: str) -> list[str]:
    """The rule ids the stage ``name`` applied."""
    found: list[str] = []
    for stage in stages:
        if stage.stage == name and stage.details:
            found += [str(r) for r in _as_list(stage.details.get("rules"))]
    return found
