"""Turning a compacted write batch into one script call per hash tag, with binary payloads.

Every key of one entity goes into one ``EVALSHA`` of :data:`~.redis_scripts.APPLY`, so a batch
costs one call per entity it touches and every call stays inside one cluster slot. Numbers
travel as little-endian doubles built by numpy, sliced per key without formatting.
"""

from __future__ import annotations

import struct
from collections import defaultdict

import numpy as np

from palate.features.store.redis_keys import KeyLayout
from palate.features.store.redis_scripts import tau_arg, ttl_ms
from palate.features.store.writes import (
    AMOUNT,
    BUCKET,
    ENTITY,
    FIELD,
    SLOT,
    SUB,
    TS,
    CompactBatch,
    CounterUpdate,
    MapUpdate,
    WindowUpdate,
    key_runs,
)

Op = tuple[str, bytes, bytes, bytes, bytes]  # key, op code, params, names, payload
Calls = dict[tuple[str, str], list[Op]]  # (kind, entity) -> the ops on its keys


def _doubles(*columns: np.ndarray) -> bytes:
    return np.column_stack(columns).astype("<f8").tobytes()


def map_ops(keys: KeyLayout, update: MapUpdate, calls: Calls) -> None:
    """One op per (entity, sub) map."""
    spec, frame = update.spec, update.frame
    params = struct.pack("<ddd", tau_arg(spec.tau), ttl_ms(spec.ttl_s), spec.max_fields)
    payload = _doubles(frame[AMOUNT].to_numpy(), frame[TS].to_numpy())
    entities, subs, fields = frame[ENTITY].to_list(), frame[SUB].to_list(), frame[FIELD].to_list()
    for start, stop in key_runs(frame):
        entity = entities[start]
        names = "\0".join(fields[start:stop]).encode()
        key = keys.map(spec, entity, subs[start])
        calls[(spec.kind, entity)].append(
            (key, b"m", params, names, payload[start * 16 : stop * 16])
        )


def counter_ops(keys: KeyLayout, update: CounterUpdate, calls: Calls) -> None:
    """One op per (entity, sub) counter."""
    spec, frame = update.spec, update.frame
    params = struct.pack("<ddd", tau_arg(spec.tau), ttl_ms(spec.ttl_s), len(spec.slots))
    payload = _doubles(frame[SLOT].to_numpy(), frame[AMOUNT].to_numpy(), frame[TS].to_numpy())
    entities, subs = frame[ENTITY].to_list(), frame[SUB].to_list()
    for start, stop in key_runs(frame):
        entity = entities[start]
        key = keys.counter(spec, entity, subs[start])
        calls[(spec.kind, entity)].append((key, b"c", params, b"", payload[start * 24 : stop * 24]))


def window_ops(keys: KeyLayout, update: WindowUpdate, calls: Calls) -> None:
    """One op per entity's rings."""
    spec, frame = update.spec, update.frame
    params = struct.pack("<dd", ttl_ms(spec.ttl_s), len(spec.rings)) + b"".join(
        struct.pack("<dd", factor, buckets)
        for factor, (_, buckets) in zip(spec.factors, spec.rings, strict=True)
    )
    payload = _doubles(frame[BUCKET].to_numpy(), frame[AMOUNT].to_numpy())
    entities = frame[ENTITY].to_list()
    for start, stop in key_runs(frame):
        entity = entities[start]
        key = keys.window(spec, entity)
        calls[(spec.kind, entity)].append((key, b"w", params, b"", payload[start * 16 : stop * 16]))


def script_calls(keys: KeyLayout, compact: CompactBatch) -> list[tuple[list[str], list[bytes]]]:
    """``(KEYS, ARGV)`` of one APPLY call per hash tag the batch touches."""
    calls: Calls = defaultdict(list)
    for update in compact.maps:
        map_ops(keys, update, calls)
    for counter in compact.counters:
        counter_ops(keys, counter, calls)
    for window in compact.windows:
        window_ops(keys, window, calls)
    return [
        ([op[0] for op in ops], [part for op in ops for part in op[1:]]) for ops in calls.values()
    ]
