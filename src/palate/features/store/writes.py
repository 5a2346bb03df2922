"""A batch of state updates, built columnarly by the features and applied in one store call.

Features add polars frames of updates; :meth:`WriteBatch.compact` merges every update that
lands on the same cell into one, exactly: events at times ``t_i`` on one decayed sum are
equivalent to one event at ``T = max(t_i)`` of ``sum(a_i * exp(-(T - t_i) / tau))``. After
compaction an adapter makes one write per cell (or per key), however many events the batch held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from palate.features.store.specs import CounterSpec, MapSpec, WindowSpec

ENTITY = "entity"
SUB = "sub"
FIELD = "field"
SLOT = "slot"
AMOUNT = "amount"
TS = "ts"
BUCKET = "bucket"
SPEC = "spec"
TAU = "tau"
KEY_START = "key_start"


def key_runs(frame: pl.DataFrame) -> list[tuple[int, int]]:
    """``(start, stop)`` of the rows of each key of a compacted frame."""
    starts = np.flatnonzero(frame[KEY_START].to_numpy())
    stops = np.append(starts[1:], frame.height)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _key_start(*keys: str) -> pl.Expr:
    """True on the first row of each run of equal keys (the frame is sorted by them)."""
    changed = [pl.col(k) != pl.col(k).shift(1) for k in keys]
    first = changed[0]
    for more in changed[1:]:
        first = first | more
    return first.fill_null(True).alias(KEY_START)


@dataclass(frozen=True, slots=True)
class MapUpdate:
    """Compacted map updates sorted by ``(entity, sub)``: entity, sub, field, amount, ts."""

    spec: MapSpec
    frame: pl.DataFrame


@dataclass(frozen=True, slots=True)
class CounterUpdate:
    """Compacted counter updates, sorted by ``(entity, sub)``: entity, sub, slot, amount, ts."""

    spec: CounterSpec
    frame: pl.DataFrame


@dataclass(frozen=True, slots=True)
class WindowUpdate:
    """Compacted ring updates sorted by entity: entity, bucket (in base buckets), amount."""

    spec: WindowSpec
    frame: pl.DataFrame


@dataclass(frozen=True, slots=True)
class CompactBatch:
    """Everything a batch changes, one row per cell."""

    maps: tuple[MapUpdate, ...]
    counters: tuple[CounterUpdate, ...]
    windows: tuple[WindowUpdate, ...]

    @property
    def cells(self) -> int:
        """Number of cells written (maps and counters) plus ring buckets."""
        frames = [u.frame for u in self.maps] + [u.frame for u in self.counters]
        return sum(frame.height for frame in frames + [u.frame for u in self.windows])


Updates = pl.DataFrame | pl.LazyFrame


def _prepare(
    frame: Updates, what: str, columns: dict[str, pl.Expr], spec: int, tau: float
) -> pl.DataFrame:
    """Check the columns, cast them, tag the rows with their spec, drop incomplete rows.

    A lazy frame is collected here, once, so a feature's whole query costs one collect.
    """
    names = frame.collect_schema().names()
    missing = [name for name in columns if name not in names and name != SUB]
    if missing:
        raise ValueError(f"{what} updates need columns {tuple(columns)}, missing {missing}")
    sub = pl.col(SUB).cast(pl.String) if SUB in names else pl.lit("")
    chosen = {**columns, SUB: sub.alias(SUB)}
    return (
        frame.lazy()
        .select(*chosen.values(), pl.lit(spec, pl.Int32).alias(SPEC), pl.lit(tau).alias(TAU))
        .drop_nulls()
        .collect()
    )


def _str(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String)


def _float(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64)


@dataclass(slots=True)
class _Pending:
    """Frames of one kind of state, each row tagged with the index of its spec."""

    specs: list[Any] = field(default_factory=list)
    frames: list[pl.DataFrame] = field(default_factory=list)

    def index(self, spec: object) -> int:
        if spec not in self.specs:
            self.specs.append(spec)
        return self.specs.index(spec)

    def add(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self.frames.append(frame)

    def split(self, folded: pl.DataFrame) -> list[tuple[Any, pl.DataFrame]]:
        """Per spec, its rows of a frame sorted by spec first."""
        bounds = np.searchsorted(folded[SPEC].to_numpy(), np.arange(len(self.specs) + 1))
        parts = zip(self.specs, bounds[:-1], bounds[1:], strict=True)
        return [(spec, folded.slice(a, b - a)) for spec, a, b in parts if b > a]


@dataclass(slots=True)
class WriteBatch:
    """Updates collected from a batch of events, before compaction.

    >>> from palate.features.store.specs import MapSpec
    >>> spec = MapSpec("seen", "u", half_life_s=float("inf"), ttl_s=60.0)
    >>> batch = WriteBatch()
    >>> frame = pl.DataFrame({"entity": ["u1", "u1"], "field": ["v1", "v1"],
    ...                       "amount": [1.0, 2.0], "ts": [0.0, 5.0]})
    >>> batch.add_to_map(spec, frame)
    >>> batch.compact().maps[0].frame.select("amount", "ts").row(0)
    (3.0, 5.0)
    """

    _maps: _Pending = field(default_factory=_Pending)
    _counters: _Pending = field(default_factory=_Pending)
    _windows: _Pending = field(default_factory=_Pending)

    def add_to_map(self, spec: MapSpec, frame: Updates) -> None:
        """Add ``amount`` at event time ``ts`` to ``field`` of each ``entity`` (and ``sub``)."""
        columns = {ENTITY: _str(ENTITY), FIELD: _str(FIELD), AMOUNT: _float(AMOUNT), TS: _float(TS)}
        frame = _prepare(frame, f"map {spec.name}", columns, self._maps.index(spec), spec.tau)
        if frame[FIELD].str.contains("\x00", literal=True).any():
            raise ValueError(f"map {spec.name}: field names cannot contain NUL characters")
        self._maps.add(frame)

    def add_to_counter(self, spec: CounterSpec, frame: Updates) -> None:
        """Add ``amount`` at ``ts`` to slot number ``slot`` of each ``entity`` (and ``sub``)."""
        slot = pl.col(SLOT).cast(pl.Int64)
        columns = {ENTITY: _str(ENTITY), SLOT: slot, AMOUNT: _float(AMOUNT), TS: _float(TS)}
        index = self._counters.index(spec)
        frame = _prepare(frame, f"counter {spec.name}", columns, index, spec.tau)
        slots = frame[SLOT].to_numpy()
        outside = (slots < 0) | (slots >= len(spec.slots))
        if outside.any():
            bad = slots[outside][0]
            raise ValueError(f"counter {spec.name} has {len(spec.slots)} slots, got slot {bad}")
        self._counters.add(frame)

    def add_to_window(self, spec: WindowSpec, frame: Updates) -> None:
        """Count ``amount`` for each ``entity`` in the buckets of its event time ``ts``."""
        bucket = (_float(TS) / spec.base_s).floor().alias(BUCKET)
        columns = {ENTITY: _str(ENTITY), AMOUNT: _float(AMOUNT), TS: bucket}
        frame = _prepare(frame, f"window {spec.name}", columns, self._windows.index(spec), 0.0)
        self._windows.add(frame)

    def __len__(self) -> int:
        pending = (self._maps, self._counters, self._windows)
        return sum(frame.height for kind in pending for frame in kind.frames)

    def compact(self) -> CompactBatch:
        """One row per cell, decay folded in, sorted so that each key's rows are contiguous."""
        maps: tuple[MapUpdate, ...] = ()
        counters: tuple[CounterUpdate, ...] = ()
        windows: tuple[WindowUpdate, ...] = ()
        if self._maps.frames:
            folded = _fold(pl.concat(self._maps.frames), [SPEC, ENTITY, SUB, FIELD])
            maps = tuple(MapUpdate(s, f) for s, f in self._maps.split(folded))
        if self._counters.frames:
            folded = _fold(pl.concat(self._counters.frames), [SPEC, ENTITY, SUB, SLOT])
            counters = tuple(CounterUpdate(s, f) for s, f in self._counters.split(folded))
        if self._windows.frames:
            keys = [SPEC, ENTITY, BUCKET]
            summed = (
                pl.concat(self._windows.frames)
                .lazy()
                .group_by(keys)
                .agg(pl.col(AMOUNT).sum(), pl.col(TAU).first())
                .sort(keys)
                .with_columns(_key_start(SPEC, ENTITY))
                .collect()
            )
            windows = tuple(WindowUpdate(s, f) for s, f in self._windows.split(summed))
        return CompactBatch(maps, counters, windows)


def _fold(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Merge the events of each cell into one equivalent event at the cell's latest time."""
    latest = pl.col(TS).max()
    return (
        frame.lazy()
        .group_by(keys)
        .agg(
            (pl.col(AMOUNT) * ((pl.col(TS) - latest) / pl.col(TAU)).exp()).sum().alias(AMOUNT),
            latest.alias(TS),
            pl.col(TAU).first(),
        )
        .sort(keys)
        .with_columns(_key_start(SPEC, ENTITY, SUB))
        .collect()
    )
