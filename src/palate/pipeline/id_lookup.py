"""Vectorised string-id → position lookups, for hot paths that must not loop per candidate.

A Python dict answers one id at a time; over a thousand candidates that loop is the cost. Here
the ids are kept sorted as a fixed-width unicode array, and a whole batch of keys is answered by
one ``np.searchsorted`` in C.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Positions = npt.NDArray[np.intp]
Keys = Sequence[str] | npt.NDArray[np.str_] | npt.NDArray[np.object_]
BoolMask = npt.NDArray[np.bool_]


def as_str_array(keys: Keys) -> npt.NDArray[np.str_]:
    """Keys as a fixed-width unicode array (object arrays of str convert in C).

    >>> as_str_array(np.array(["a", "bc"], dtype=object)).dtype.kind
    'U'
    """
    if isinstance(keys, np.ndarray):
        converted: npt.NDArray[np.str_] = keys.astype(np.str_, copy=False)
        return converted
    return np.array(keys, dtype=np.str_) if len(keys) else np.empty(0, dtype=np.str_)


class IdLookup:
    """Position of each id in the sequence it was built from; -1 for unknown ids.

    >>> lookup = IdLookup(["v3", "v1", "v2"])
    >>> lookup.positions(["v2", "nope", "v3"]).tolist()
    [2, -1, 0]
    >>> IdLookup([]).positions(["x"]).tolist()
    [-1]
    """

    __slots__ = ("_order", "_sorted")

    def __init__(self, ids: Keys) -> None:
        values = as_str_array(ids)
        self._order: Positions = np.argsort(values, kind="stable")
        self._sorted = values[self._order]

    def __len__(self) -> int:
        return len(self._sorted)

    def positions(self, keys: Keys) -> Positions:
        """Index of each key in the original ids, -1 when absent (first one on duplicates)."""
        wanted = as_str_array(keys)
        if not len(self._sorted) or not len(wanted):
            return np.full(len(wanted), -1, dtype=np.intp)
        at = np.searchsorted(self._sorted, wanted)
        at = np.minimum(at, len(self._sorted) - 1)
        hit = self._sorted[at] == wanted
        return np.where(hit, self._order[at], -1).astype(np.intp, copy=False)


SMALL_SET = 16  # up to this many members, compare directly: np.isin's setup costs ~30 µs


def is_member(values: npt.NDArray[np.generic], members: npt.NDArray[np.generic]) -> BoolMask:
    """``np.isin(values, members)``, fast for the handful of members a request brings (a cart).

    >>> is_member(np.array([3, 1, 2]), np.array([2, 3])).tolist()
    [True, False, True]
    """
    if len(members) > SMALL_SET:
        return np.isin(values, members)
    found = np.zeros(len(values), dtype=np.bool_)
    for member in members:
        found |= values == member
    return found
