"""Why each returned venue ranks where it does: feature contributions and the rules that fired.

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

from palate.pipeline.candidates import Candidates, FloatArray
from palate.pipeline.trace import StageTrace
from palate.ranking.heuristic import HeuristicWeights, heuristic_terms
from palate.ranking.learned import feature_matrix
from palate.ranking.model_version import ModelVersion

# Keys of a stage's trace details that list ``[venue_id, from, to]`` or venue ids it touched.
_TOUCH_KEYS = ("moved", "placed", "removed")
_CACHE_SIZE = 4


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
