"""Candidates flowing through a pipeline: positions into an entity index plus feature columns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(slots=True)
class Candidates:
    """A columnar candidate set; every feature column is aligned with ``positions``.

    >>> c = Candidates(np.array([3, 1, 2], dtype=np.int32), {"x": np.array([0.3, 0.1, 0.2])})
    >>> c.take(np.array([False, True, True])).positions.tolist()
    [1, 2]
    """

    positions: IntArray
    features: dict[str, FloatArray] = field(default_factory=dict)
    scores: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    @classmethod
    def empty(cls) -> Candidates:
        """No candidates."""
        return cls(np.empty(0, dtype=np.int32))

    def take(self, selector: BoolArray | IntArray | slice) -> Candidates:
        """The subset (mask) or reordering (indices) of rows, features and scores kept aligned."""
        return Candidates(
            positions=self.positions[selector],
            features={name: column[selector] for name, column in self.features.items()},
            scores=None if self.scores is None else self.scores[selector],
        )

    def feature(self, name: str) -> FloatArray:
        """A hydrated feature column; a missing one is a wiring bug, so it raises KeyError."""
        return self.features[name]

    @classmethod
    def concat(cls, parts: list[Candidates]) -> Candidates:
        """Union of several sources, first occurrence of a position wins; missing features are 0."""
        nonempty = [p for p in parts if len(p)]
        if not nonempty:  # keep the (empty) feature columns so later stages find them
            return parts[0] if parts else cls.empty()
        if len(nonempty) == 1:
            return nonempty[0]
        parts = nonempty
        names = sorted({name for part in parts for name in part.features})
        positions = np.concatenate([p.positions for p in parts])
        features = {
            name: np.concatenate([p.features.get(name, np.zeros(len(p))) for p in parts])
            for name in names
        }
        _, first = np.unique(positions, return_index=True)
        order = np.sort(first)
        return cls(positions[order], {n: col[order] for n, col in features.items()})
