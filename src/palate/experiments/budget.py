"""The exploration budget: how many entries of a list sampling may promote.

Thompson sampling explores by promoting arms whose draw beats their mean. Left alone it can
reshuffle a whole list; the budget caps the promotions at ``max_slots`` entries and at
``max_share`` of the list, and everything else keeps its exploit (posterior-mean) order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from palate.pipeline.candidates import BoolArray, FloatArray

IndexArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class ExplorationBudget:
    """At most ``max_slots`` explored entries, and at most ``max_share`` of those shown.

    >>> ExplorationBudget(max_slots=2, max_share=0.25).slots(10)
    2
    >>> ExplorationBudget(max_slots=5, max_share=0.25).slots(10)
    2
    >>> ExplorationBudget(max_slots=0, max_share=1.0).slots(10)
    0
    """

    max_slots: int = 2
    max_share: float = 0.25

    def __post_init__(self) -> None:
        if self.max_slots < 0 or not 0.0 <= self.max_share <= 1.0:
            raise ValueError("max_slots must be >= 0 and max_share within [0, 1]")

    def slots(self, shown: int) -> int:
        """Explored entries allowed in a list of ``shown`` entries."""
        return min(self.max_slots, math.floor(self.max_share * shown + 1e-9))


@dataclass(frozen=True, slots=True)
class BudgetedOrder:
    """A list order, which of its entries exploration promoted, and the score that ordered them.

    ``order`` indexes the arms; ``explored`` and ``score`` follow ``order`` (final positions).
    """

    order: IndexArray
    explored: BoolArray
    score: FloatArray


def budgeted_order(
    exploit: FloatArray, sampled: FloatArray, budget: ExplorationBudget, shown: int
) -> BudgetedOrder:
    """Order by exploit score, except up to ``budget.slots(shown)`` arms ranked by their draw.

    The arms sampling promoted most (draw above the exploit score) keep their draw as their
    score; ``explored`` marks, by final position, those that landed above their exploit rank.

    >>> exploit = np.array([0.5, 0.4, 0.3, 0.2])
    >>> sampled = np.array([0.5, 0.4, 0.9, 0.8])
    >>> result = budgeted_order(exploit, sampled, ExplorationBudget(1, 1.0), shown=4)
    >>> result.order.tolist(), result.explored.tolist()
    ([2, 0, 1, 3], [True, False, False, False])
    """
    count = len(exploit)
    by_exploit = np.lexsort((np.arange(count), -exploit))
    exploit_rank = np.empty(count, dtype=np.intp)
    exploit_rank[by_exploit] = np.arange(count)
    gain = sampled - exploit
    promoted = np.flatnonzero(gain > 0)
    chosen = promoted[np.argsort(-gain[promoted], kind="stable")][: budget.slots(min(shown, count))]
    score = exploit.copy()
    score[chosen] = sampled[chosen]
    order = np.lexsort((exploit_rank, -score))
    final_rank = np.empty(count, dtype=np.intp)
    final_rank[order] = np.arange(count)
    moved_up = np.zeros(count, dtype=np.bool_)
    moved_up[chosen] = final_rank[chosen] < exploit_rank[chosen]
    return BudgetedOrder(order.astype(np.intp), moved_up[order], score[order])
