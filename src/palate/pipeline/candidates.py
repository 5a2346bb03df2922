"""Candidates flowing through a pipeline: positions into an entity index plus feature columns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Selector = BoolArray | IntArray | slice


Layer = tuple[Mapping[str, FloatArray], "npt.NDArray[np.intp] | None"]  # columns, rows of them


class FeatureColumns(MutableMapping[str, FloatArray]):
    """Feature columns seen through row selections, each gathered on first read.

    A pipeline filters, sorts and moves its candidates a dozen times; copying forty columns
    each time cost more than ranking them. Columns live in layers — a table and the rows of
    it this view shows (``None``: all, in order) — and a selection only composes each
    layer's row index. Columns written into a view form its top layer. Only the columns a
    later stage actually reads are gathered, once per view.

    >>> cols = FeatureColumns({"x": np.array([10.0, 11.0, 12.0])})
    >>> view = cols.select(np.array([2, 0]), 3)
    >>> view["y"] = np.array([1.0, 2.0])
    >>> {k: v.tolist() for k, v in sorted(view.select(np.array([1]), 2).items())}
    {'x': [10.0], 'y': [2.0]}
    """

    __slots__ = ("_cache", "_hidden", "_layers", "_own")

    def __init__(
        self,
        base: Mapping[str, FloatArray] | None = None,
        layers: tuple[Layer, ...] = (),
        hidden: frozenset[str] = frozenset(),
    ) -> None:
        self._layers = layers if base is None else (*layers, (base, None))
        self._own: dict[str, FloatArray] = {}
        self._cache: dict[str, FloatArray] = {}
        self._hidden = hidden  # deleted from the layers below

    def __getitem__(self, name: str) -> FloatArray:
        if name in self._own:
            return self._own[name]
        if name in self._hidden:
            raise KeyError(name)
        column = self._cache.get(name)
        if column is not None:
            return column
        for table, rows in reversed(self._layers):  # the newest layer wins
            if name in table:
                # take, not [rows]: the same gather without fancy indexing's setup cost
                column = table[name] if rows is None else table[name].take(rows)
                self._cache[name] = column
                return column
        raise KeyError(name)

    def __setitem__(self, name: str, column: FloatArray) -> None:
        self._own[name] = column
        self._cache.pop(name, None)

    def update(self, columns: Mapping[str, FloatArray], /) -> None:  # type: ignore[override]
        """Write several columns (a hydrator's) at once, without a ``__setitem__`` per name."""
        self._own.update(columns)
        if self._cache:
            for name in columns:
                self._cache.pop(name, None)

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._own.pop(name, None)
        self._cache.pop(name, None)
        self._hidden = self._hidden | {name}

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __contains__(self, name: object) -> bool:
        if name in self._own:
            return True
        return name not in self._hidden and any(name in table for table, _ in self._layers)

    def _names(self) -> dict[str, None]:
        names = dict.fromkeys(self._own)
        for table, _ in reversed(self._layers):
            names.update(dict.fromkeys(n for n in table if n not in self._hidden))
        return names

    def select(self, selector: Selector, count: int) -> FeatureColumns:
        """The same columns through ``selector`` (mask, indices or slice of the ``count``
        current rows): each layer's row index is composed, no column is copied."""
        return self.select_rows(row_index(selector, count))

    def select_rows(self, rows: npt.NDArray[np.intp]) -> FeatureColumns:
        """:meth:`select` with the selector already a :func:`row_index`."""
        layers: list[Layer] = [
            (table, rows if below is None else below.take(rows))
            for table, below in self._layers
            if table
        ]
        if self._own:  # frozen as is
            layers.append((dict(self._own), rows))
        hidden = self._hidden - self._own.keys() if self._hidden else self._hidden
        return FeatureColumns(None, tuple(layers), hidden)


def row_index(selector: Selector, count: int) -> npt.NDArray[np.intp]:
    """The rows ``selector`` (mask, indices or slice of ``count`` rows) picks, as indices.

    One form for every gather that follows: ``take`` with ``intp`` indices is the cheapest
    gather numpy has, where masks and ``int32`` indices pay for a conversion on each.

    >>> row_index(np.array([True, False, True]), 3).tolist(), row_index(slice(1, None), 3).tolist()
    ([0, 2], [1, 2])
    """
    if isinstance(selector, slice):
        return np.arange(*selector.indices(count))
    if selector.dtype == np.bool_:
        if len(selector) != count:
            raise IndexError(f"a mask of {len(selector)} rows for {count} rows")
        return np.flatnonzero(selector)
    return selector.astype(np.intp, copy=False)


@dataclass(slots=True)
class Candidates:
    """A columnar candidate set; every feature column is aligned with ``positions``.

    >>> c = Candidates(np.array([3, 1, 2], dtype=np.int32), {"x": np.array([0.3, 0.1, 0.2])})
    >>> c.take(np.array([False, True, True])).positions.tolist()
    [1, 2]
    """

    positions: IntArray
    features: MutableMapping[str, FloatArray] = field(default_factory=FeatureColumns)
    scores: FloatArray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.features, FeatureColumns):
            self.features = FeatureColumns(dict(self.features))

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    @classmethod
    def empty(cls) -> Candidates:
        """No candidates."""
        return cls(np.empty(0, dtype=np.int32))

    def take(self, selector: Selector) -> Candidates:
        """The subset (mask) or reordering (indices) of rows, features and scores kept aligned."""
        columns = self.features
        assert isinstance(columns, FeatureColumns)  # noqa: S101 - __post_init__ guarantees it
        rows = row_index(selector, len(self.positions))
        return Candidates(
            positions=self.positions.take(rows),
            features=columns.select_rows(rows),
            scores=None if self.scores is None else self.scores.take(rows),
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
