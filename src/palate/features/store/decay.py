"""The arithmetic of decayed sums and bucket rings, shared by every store adapter.

A decayed sum is kept as ``(value, ref)``: its value at time ``ref``, the latest event time seen.
An event of ``amount`` at time ``t`` updates it exactly, whatever the arrival order:

* ``t > ref``: ``value = value * exp(-(t - ref) / tau) + amount`` and ``ref = t``;
* ``t <= ref`` (late): ``value += amount * exp(-(ref - t) / tau)``.

Both give ``sum(amount_i * exp(-(ref - t_i) / tau))``, so shuffling the events changes nothing
but rounding. Reading at ``now`` multiplies by ``exp(-(now - ref) / tau)``, never by more than 1.
"""

from __future__ import annotations

import math

import numpy as np

from palate.pipeline.candidates import FloatArray


def apply_event(
    value: float, ref: float, amount: float, ts: float, tau: float
) -> tuple[float, float]:
    """The ``(value, ref)`` after one event; ``ref`` is NaN for a sum that never saw an event.

    >>> first = apply_event(0.0, math.nan, 1.0, 10.0, 5.0)
    >>> apply_event(*first, 1.0, 5.0, 5.0)[0] == 1 + math.exp(-1)
    True
    """
    if math.isnan(ref):
        return amount, ts
    if ts > ref:
        return value * math.exp(-(ts - ref) / tau) + amount, ts
    return value + amount * math.exp(-(ref - ts) / tau), ref


def decay_to(values: FloatArray, refs: FloatArray, now: float, tau: float) -> FloatArray:
    """Values seen at ``now``; a NaN ``ref`` (no events) reads as 0.

    >>> decay_to(np.array([2.0, 5.0]), np.array([0.0, np.nan]), 1.0, 1.0).round(4).tolist()
    [0.7358, 0.0]
    """
    # NaN refs propagate through maximum and exp and are zeroed last (nan_to_num is slow).
    out: FloatArray = values * np.exp(np.maximum(now - refs, 0.0) / -tau)
    out[np.isnan(refs)] = 0.0
    return out


def bucket_of(ts: float | FloatArray, bucket_s: float) -> FloatArray:
    """Bucket index of an epoch time: whole buckets since the epoch, as floats.

    >>> bucket_of(np.array([0.0, 299.9, 300.0]), 300.0).tolist()
    [0.0, 0.0, 1.0]
    """
    return np.floor(np.asarray(ts, dtype=np.float64) / bucket_s)


def ring_add(newest: float, counts: FloatArray, bucket: float, amount: float) -> float:
    """Add ``amount`` to ``bucket`` in a ring (in place); returns the new newest bucket.

    Advancing past ``newest`` clears the slots of the buckets skipped, so a slot never mixes two
    buckets; a bucket that has already left the ring is dropped.
    """
    n = len(counts)
    if math.isnan(newest) or bucket > newest:
        start = bucket - n + 1 if math.isnan(newest) else max(newest + 1, bucket - n + 1)
        for b in np.arange(start, bucket + 1):
            counts[int(b) % n] = 0.0
        newest = bucket
    if bucket > newest - n:
        counts[int(bucket) % n] += amount
    return newest


def ring_sums(newest: FloatArray, counts: FloatArray, now_bucket: float) -> FloatArray:
    """Sum of each ring's buckets inside ``(now_bucket - n, now_bucket]``; rows are entities.

    >>> ring_sums(np.array([5.0]), np.array([[1.0, 1.0, 1.0]]), 6.0).tolist()
    [2.0]
    """
    n = counts.shape[1]
    slots = np.arange(n, dtype=np.float64)
    # An empty ring (NaN) is given a newest bucket far outside the window; its counts are 0.
    last = np.nan_to_num(newest, nan=now_bucket - 2 * n)[:, None]
    # The bucket each slot holds: the newest bucket congruent to the slot, not after `newest`.
    held = last - np.mod(last - slots[None, :], n)
    inside = (held > now_bucket - n) & (held <= now_bucket)
    sums: FloatArray = np.where(inside, counts, 0.0).sum(axis=1)
    return sums


def window_totals(
    rings: tuple[tuple[float, int], ...],
    newest: list[FloatArray],
    counts: list[FloatArray],
    now: float,
) -> FloatArray:
    """Totals of several rings at ``now``: one row per entity, one column per ring."""
    columns = [
        ring_sums(last, held, float(np.floor(now / bucket_s)))
        for (bucket_s, _), last, held in zip(rings, newest, counts, strict=True)
    ]
    return np.column_stack(columns) if columns else np.zeros((0, 0))
