"""A batch of reads answered by one store call (one Redis round trip), and typed results.

Build a :class:`ReadBatch`, keep the handle of each read, run ``store.read(batch, now)`` and
index the :class:`ReadResults` with the handles::

    reads = ReadBatch()
    history = reads.map(CUSTOMER_VENUES, user_id)
    engagement = reads.counters(VENUE_ENGAGEMENT, venue_ids)
    results = store.read(reads, now)
    results[history].lookup(venue_ids)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from palate.features.store.specs import CounterSpec, MapSpec, SnapshotSpec, WindowSpec
from palate.pipeline.candidates import BoolArray, FloatArray
from palate.pipeline.id_lookup import IdLookup

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Handle(Generic[T]):
    """The place of one read in its batch; indexing the results with it gives a ``T``."""

    index: int
    fields: tuple[str, ...] | None = None
    """A map read's named fields: answered from the whole map when the batch reads it whole."""


@dataclass(frozen=True, slots=True)
class MapRead:
    """One entity's map: every field, or only ``fields``."""

    spec: MapSpec
    entity_id: str
    sub: str = ""
    fields: tuple[str, ...] | None = None
    bounded: bool = False
    """The map holds little beyond the named ``fields`` (one venue's own items), so a store
    may read it whole rather than send every name; the answer is the named read's."""


@dataclass(frozen=True, slots=True)
class CounterRead:
    """The counters of many entities (same ``sub`` for all)."""

    spec: CounterSpec
    entity_ids: tuple[str, ...]
    sub: str = ""


@dataclass(frozen=True, slots=True)
class WindowRead:
    """The window totals of many entities."""

    spec: WindowSpec
    entity_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SnapshotRead:
    """The active snapshot rows of many entities."""

    spec: SnapshotSpec
    entity_ids: tuple[str, ...]


Read = MapRead | CounterRead | WindowRead | SnapshotRead


@dataclass(frozen=True, slots=True)
class MapValues:
    """Fields of one map with their sums decayed to the read time and their latest event time.

    >>> m = MapValues(np.array(["a", "b"]), np.array([2.0, 1.0]), np.array([10.0, 20.0]))
    >>> [a.tolist() for a in m.lookup(["b", "zz"])]
    [[1.0, 0.0], [20.0, nan]]
    """

    fields: npt.NDArray[np.str_]
    values: FloatArray
    last_ts: FloatArray
    asked: npt.NDArray[np.bool_] | None = None
    """For a read of named fields: which of them the map holds (``fields`` are those, in the
    order asked), so :meth:`aligned` answers without searching; None for a whole-map read."""

    @classmethod
    def empty(cls, asked: int | None = None) -> MapValues:
        """A map that holds nothing (none of ``asked`` named fields, when they were named)."""
        hits = None if asked is None else np.zeros(asked, dtype=np.bool_)
        return cls(np.empty(0, dtype=np.str_), np.empty(0), np.empty(0), hits)

    def aligned(self) -> tuple[FloatArray, FloatArray]:
        """:meth:`lookup` of exactly the fields the read named, without the search.

        >>> m = MapValues(np.array(["b"]), np.array([2.0]), np.array([10.0]),
        ...               asked=np.array([False, True]))
        >>> [a.tolist() for a in m.aligned()]
        [[0.0, 2.0], [nan, 10.0]]
        """
        if self.asked is None:
            raise ValueError("aligned() needs a read of named fields")
        values, last = np.zeros(len(self.asked)), np.full(len(self.asked), np.nan)
        values[self.asked] = self.values
        last[self.asked] = self.last_ts
        return values, last

    def __len__(self) -> int:
        return len(self.fields)

    def lookup(self, keys: Sequence[str] | npt.NDArray[np.str_]) -> tuple[FloatArray, FloatArray]:
        """Values (0 when absent) and latest event times (NaN when absent) aligned with ``keys``."""
        where = self.positions(keys)
        hit = where >= 0
        values = np.zeros(len(where))
        last = np.full(len(where), np.nan)
        values[hit] = self.values[where[hit]]
        last[hit] = self.last_ts[where[hit]]
        return values, last

    def lookup_positions(
        self, keys: npt.NDArray[np.intp], fields: npt.NDArray[np.intp]
    ) -> tuple[FloatArray, FloatArray]:
        """Like :meth:`lookup` with keys and fields already mapped to integer positions (the
        same numbering for both; -1 never matches).

        >>> m = MapValues(np.array(["a", "b"]), np.array([2.0, 1.0]), np.array([10.0, 20.0]))
        >>> [a.tolist() for a in m.lookup_positions(np.array([7, 3, -1]), np.array([3, 7]))]
        [[1.0, 2.0, 0.0], [20.0, 10.0, nan]]
        """
        if not len(fields) or not len(keys):
            return np.zeros(len(keys)), np.full(len(keys), np.nan)
        # Spread the map over every position (a few thousand), then one gather per column:
        # cheaper than searching a thousand keys among the fields. Slot `size` is the pad
        # that position -1 reads.
        size = max(int(fields.max()), int(keys.max())) + 1
        known = fields >= 0
        spread_values, spread_last = np.zeros(size + 1), np.full(size + 1, np.nan)
        spread_values[fields[known]] = self.values[known]
        spread_last[fields[known]] = self.last_ts[known]
        return spread_values.take(keys), spread_last.take(keys)

    def positions(self, keys: Sequence[str] | npt.NDArray[np.str_]) -> npt.NDArray[np.intp]:
        """Index of each key among ``fields``, -1 when absent."""
        return IdLookup(self.fields).positions(keys)

    def restricted(self, fields: Sequence[str]) -> MapValues:
        """The answer a read of the named ``fields`` gives, from this whole-map answer.

        >>> m = MapValues(np.array(["a", "b"]), np.array([2.0, 1.0]), np.array([10.0, 20.0]))
        >>> named = m.restricted(("b", "zz", "a"))
        >>> named.fields.tolist(), named.asked.tolist(), [a.tolist() for a in named.aligned()]
        (['b', 'a'], [True, False, True], [[1.0, 0.0, 2.0], [20.0, nan, 10.0]])
        """
        if not len(self.fields):
            return MapValues.empty(len(fields))
        # A dict over the held fields, probed once per name: a third of a sorted search's cost
        # for a couple of hundred names (no unicode array to build and sort per call).
        index = dict(zip(self.fields.tolist(), range(len(self.fields)), strict=True))
        where = np.fromiter(map(index.get, fields, repeat(-1)), dtype=np.intp, count=len(fields))
        asked = where >= 0
        held = where[asked]
        return MapValues(self.fields[held], self.values[held], self.last_ts[held], asked)

    def total(self) -> float:
        """Sum of every field's decayed value."""
        return float(self.values.sum())


@dataclass(frozen=True, slots=True)
class CounterValues:
    """Decayed slot values, one row per requested entity (zeros when absent)."""

    slots: tuple[str, ...]
    values: FloatArray
    last_ts: FloatArray

    def column(self, slot: str) -> FloatArray:
        """One slot's values for every entity."""
        return self.values[:, self.slots.index(slot)]

    @property
    def found(self) -> BoolArray:
        """Entities that have any state."""
        return ~np.isnan(self.last_ts)


@dataclass(frozen=True, slots=True)
class SnapshotRows:
    """Rows of the active snapshot version, aligned with the requested entities.

    ``version`` is None when no version was ever activated; rows of absent entities are NaN.
    """

    columns: tuple[str, ...]
    values: npt.NDArray[np.float32]
    found: BoolArray
    version: int | None

    def column(self, name: str) -> npt.NDArray[np.float32]:
        """One column for every entity; a column the active version lacks reads as NaN."""
        if name not in self.columns:
            return np.full(len(self.found), np.nan, dtype=np.float32)
        return self.values[:, self.columns.index(name)]


def held_fields(
    read: MapRead, cells: Mapping[str, object]
) -> tuple[list[str], npt.NDArray[np.bool_] | None]:
    """The fields a map read answers (all held, sorted; or those of the named ones held, in
    their order) and, for named fields, which of them are held. Every store answers so."""
    if read.fields is None:
        return sorted(cells), None
    asked = [name in cells for name in read.fields]
    return list(compress(read.fields, asked)), np.array(asked, dtype=np.bool_)


def _ids(entity_ids: Sequence[str] | npt.NDArray[np.str_]) -> tuple[str, ...]:
    if isinstance(entity_ids, np.ndarray):
        return tuple(entity_ids.tolist())
    return tuple(entity_ids)


EntityIds = Sequence[str] | npt.NDArray[np.str_]


@dataclass(slots=True)
class ReadBatch:
    """Reads to be answered together.

    A whole map asked for twice (two parts of one request sharing a batch: the online
    features and an entry point both want the customer's category weights) is read once;
    both handles give the same answer, which readers treat as read-only. A map read whole is
    not read again for named fields (the item columns and the customer profile both want the
    customer's item map): the named handles answer from the whole one, whichever came first.

    >>> from palate.features.store.specs import MapSpec
    >>> spec = MapSpec("aff", "u", half_life_s=60.0, ttl_s=60.0)
    >>> reads = ReadBatch()
    >>> reads.map(spec, "u1") == reads.map(spec, "u1"), len(reads)
    (True, 1)
    >>> named = reads.map(spec, "u2", fields=["a"])
    >>> reads.map(spec, "u2").index == named.index, len(reads), reads.reads[-1].fields
    (True, 2, None)
    """

    reads: list[Read] = field(default_factory=list)
    _whole_maps: dict[tuple[MapSpec, str, str], int] = field(default_factory=dict)
    _named_maps: dict[tuple[MapSpec, str, str], int] = field(default_factory=dict)

    def _add(self, read: Read) -> int:
        self.reads.append(read)
        return len(self.reads) - 1

    def map(
        self,
        spec: MapSpec,
        entity_id: str,
        sub: str = "",
        fields: Sequence[str] | None = None,
        *,
        bounded: bool = False,
    ) -> Handle[MapValues]:
        """One entity's map (only ``fields`` when given, in that order; ``bounded``: see
        :attr:`MapRead.bounded`)."""
        key = (spec, entity_id, sub)
        whole = self._whole_maps.get(key)
        if fields is not None:
            named = tuple(fields)
            if whole is not None:  # read whole anyway: the named fields come from that
                return Handle(whole, named)
            index = self._add(MapRead(spec, entity_id, sub, named, bounded))
            self._named_maps.setdefault(key, index)
            return Handle(index, named)
        if whole is None:
            whole = self._named_maps.get(key)
            if whole is None:
                whole = self._add(MapRead(spec, entity_id, sub))
            else:  # the named read becomes the whole one; its handle then derives its fields
                self.reads[whole] = MapRead(spec, entity_id, sub)
            self._whole_maps[key] = whole
        return Handle(whole)

    def counters(
        self, spec: CounterSpec, entity_ids: EntityIds, sub: str = ""
    ) -> Handle[CounterValues]:
        """Counters of each entity."""
        return Handle(self._add(CounterRead(spec, _ids(entity_ids), sub)))

    def windows(self, spec: WindowSpec, entity_ids: EntityIds) -> Handle[FloatArray]:
        """Totals at the read time: one row per entity, one column per ring of the spec."""
        return Handle(self._add(WindowRead(spec, _ids(entity_ids))))

    def snapshot(self, spec: SnapshotSpec, entity_ids: EntityIds) -> Handle[SnapshotRows]:
        """Active snapshot rows of each entity."""
        return Handle(self._add(SnapshotRead(spec, _ids(entity_ids))))

    def __len__(self) -> int:
        return len(self.reads)


@dataclass(frozen=True, slots=True)
class ReadResults:
    """Answers in the order of the batch's reads."""

    answers: tuple[object, ...]

    def __getitem__(self, handle: Handle[T]) -> T:
        answer: T = self.answers[handle.index]  # type: ignore[assignment]
        if handle.fields is not None and isinstance(answer, MapValues) and answer.asked is None:
            return answer.restricted(handle.fields)  # type: ignore[return-value]
        return answer
