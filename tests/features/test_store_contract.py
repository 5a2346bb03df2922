"""The contract every feature store adapter keeps, run against each adapter of the fixture.

Expected values are computed from first principles (sums of ``amount * exp(-age / tau)``),
never taken from an adapter, so the memory store is held to the same truth as Redis.
"""

from __future__ import annotations

import math
import random
import time

import numpy as np
import polars as pl
import pytest

from palate.errors import ConfigurationError
from palate.features.store import (
    CounterSpec,
    FeatureStore,
    MapSpec,
    MapValues,
    ReadBatch,
    WindowSpec,
    WriteBatch,
)

HOUR = 3_600.0
T0 = 1_714_550_400.0  # 2024-05-01 08:00 UTC
VISITS = MapSpec("visits", "u", half_life_s=6 * HOUR, ttl_s=600.0)
ENGAGEMENT = CounterSpec("eng", "v", ("imp", "clk", "ord"), half_life_s=HOUR, ttl_s=600.0)
LAST_HOUR = WindowSpec("pop_1h", "v", rings=((300.0, 12),), ttl_s=600.0)
HOUR_DAY_WEEK = WindowSpec("pop", "v", rings=((300.0, 12), (HOUR, 24), (24 * HOUR, 7)), ttl_s=600.0)


def map_frame(
    entity: str, fields: list[str], amounts: list[float], ts: list[float]
) -> pl.DataFrame:
    return pl.DataFrame(
        {"entity": [entity] * len(fields), "field": fields, "amount": amounts, "ts": ts}
    )


def expected_decayed(amounts: list[float], ts: list[float], now: float, tau: float) -> float:
    return sum(a * math.exp(-(now - t) / tau) for a, t in zip(amounts, ts, strict=True))


def write_map(store: FeatureStore, spec: MapSpec, frame: pl.DataFrame) -> None:
    batch = WriteBatch()
    batch.add_to_map(spec, frame)
    store.write(batch)


def read_map(
    store: FeatureStore,
    spec: MapSpec,
    entity: str,
    now: float,
    sub: str = "",
    fields: list[str] | None = None,
) -> MapValues:
    reads = ReadBatch()
    handle = reads.map(spec, entity, sub, fields)
    return store.read(reads, now)[handle]


# ---- maps ------------------------------------------------------------------------------------


def test_map_sums_decay_and_remember_the_latest_event(store: FeatureStore) -> None:
    ts = [T0, T0 + HOUR, T0 + 2 * HOUR]
    write_map(store, VISITS, map_frame("u1", ["v1", "v1", "v2"], [1.0, 1.0, 2.0], ts))
    now = T0 + 10 * HOUR
    got = read_map(store, VISITS, "u1", now)
    assert got.fields.tolist() == ["v1", "v2"]
    assert got.values[0] == pytest.approx(expected_decayed([1, 1], ts[:2], now, VISITS.tau))
    assert got.values[1] == pytest.approx(expected_decayed([2], ts[2:], now, VISITS.tau))
    assert got.last_ts.tolist() == [T0 + HOUR, T0 + 2 * HOUR]


def test_map_read_of_chosen_fields_skips_absent_ones(store: FeatureStore) -> None:
    write_map(store, VISITS, map_frame("u1", ["a", "b", "c"], [1.0, 2.0, 3.0], [T0] * 3))
    got = read_map(store, VISITS, "u1", T0, fields=["c", "zz", "a"])
    assert got.fields.tolist() == ["c", "a"]
    assert got.values.tolist() == pytest.approx([3.0, 1.0])
    values, last = got.lookup(["a", "zz"])
    assert values.tolist() == pytest.approx([1.0, 0.0])
    assert last[0] == T0
    assert math.isnan(last[1])


@pytest.mark.parametrize("entity", ["u1", "nobody"])
def test_a_read_of_named_fields_answers_them_aligned(store: FeatureStore, entity: str) -> None:
    write_map(store, VISITS, map_frame("u1", ["a", "b", "c"], [1.0, 2.0, 3.0], [T0] * 3))
    named = ["c", "zz", "a", "b", "yy"]
    got = read_map(store, VISITS, entity, T0 + HOUR, fields=named)
    values, last = got.aligned()
    expected_values, expected_last = got.lookup(named)
    assert values.tolist() == expected_values.tolist()
    assert np.array_equal(last, expected_last, equal_nan=True)
    assert (values > 0).tolist() == (
        [True, False, True, True, False] if entity == "u1" else [False] * 5
    )
    assert read_map(store, VISITS, entity, T0, fields=[]).aligned()[0].tolist() == []
    with pytest.raises(ValueError, match="named fields"):
        read_map(store, VISITS, entity, T0).aligned()


@pytest.mark.parametrize("whole_first", [False, True])
@pytest.mark.parametrize("entity", ["u1", "nobody"])
def test_named_fields_of_a_map_also_read_whole_come_from_that_one_read(
    store: FeatureStore, entity: str, whole_first: bool
) -> None:
    write_map(store, VISITS, map_frame("u1", ["a", "b", "c"], [1.0, 2.0, 3.0], [T0, T0, T0 + 9]))
    named = ["c", "zz", "a"]
    alone = read_map(store, VISITS, entity, T0 + HOUR, fields=named)
    reads = ReadBatch()
    if whole_first:
        whole = reads.map(VISITS, entity)
        part = reads.map(VISITS, entity, fields=named)
    else:
        part = reads.map(VISITS, entity, fields=named)
        whole = reads.map(VISITS, entity)
    assert len(reads) == 1
    results = store.read(reads, T0 + HOUR)
    assert results[whole].asked is None
    assert sorted(results[whole].fields.tolist()) == (["a", "b", "c"] if entity == "u1" else [])
    together = results[part]
    assert together.fields.tolist() == alone.fields.tolist()
    assert together.asked is not None
    assert together.asked.tolist() == alone.asked.tolist()
    for mine, reference in zip(together.aligned(), alone.aligned(), strict=True):
        assert np.allclose(mine, reference, equal_nan=True)


@pytest.mark.parametrize("entity", ["u1", "nobody"])
def test_a_bounded_read_of_named_fields_answers_as_the_named_read(
    store: FeatureStore, entity: str
) -> None:
    """A store may read a bounded map whole (Redis: HGETALL, no names sent); the answer
    must not tell."""
    write_map(store, VISITS, map_frame("u1", ["a", "b", "c"], [1.0, 2.0, 3.0], [T0, T0, T0 + 9]))
    reads = ReadBatch()
    named = ["c", "zz", "a"]
    plain = reads.map(VISITS, entity, fields=named)
    bounded = reads.map(VISITS, entity, fields=named, bounded=True)
    empty = reads.map(VISITS, entity, fields=[], bounded=True)
    results = store.read(reads, T0 + HOUR)
    assert results[bounded].fields.tolist() == results[plain].fields.tolist()
    assert results[bounded].asked.tolist() == results[plain].asked.tolist()
    for mine, reference in zip(results[bounded].aligned(), results[plain].aligned(), strict=True):
        assert np.array_equal(mine, reference, equal_nan=True)
    assert results[empty].aligned()[0].tolist() == []


def test_missing_entities_read_as_empty(store: FeatureStore) -> None:
    reads = ReadBatch()
    m = reads.map(VISITS, "nobody")
    c = reads.counters(ENGAGEMENT, ["nowhere", "nothing"])
    w = reads.windows(LAST_HOUR, ["nowhere"])
    e = reads.counters(ENGAGEMENT, [])
    results = store.read(reads, T0)
    assert len(results[m]) == 0
    assert results[c].values.shape == (2, 3)
    assert not results[c].values.any()
    assert not results[c].found.any()
    assert results[w].tolist() == [[0.0]]
    assert results[e].values.shape == (0, 3)


def test_sub_keys_and_entities_are_independent(store: FeatureStore) -> None:
    frame = pl.DataFrame(
        {
            "entity": ["v1", "v1", "v2", "v{1}%"],
            "sub": ["i1", "i2", "i1", "i1"],
            "field": ["x", "x", "x", "x"],
            "amount": [1.0, 2.0, 4.0, 8.0],
            "ts": [T0] * 4,
        }
    )
    spec = MapSpec("pairs", "v", half_life_s=math.inf, ttl_s=600.0)
    write_map(store, spec, frame)
    reads = ReadBatch()
    handles = [reads.map(spec, e, sub=s) for e, s in [("v1", "i1"), ("v1", "i2"), ("v2", "i1")]]
    handles.append(reads.map(spec, "v{1}%", sub="i1"))
    handles.append(reads.map(spec, "v1"))
    results = store.read(reads, T0 + 1e6)
    assert [results[h].total() for h in handles] == [1.0, 2.0, 4.0, 8.0, 0.0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_out_of_order_events_give_the_in_order_state(store: FeatureStore, seed: int) -> None:
    rng = random.Random(seed)
    n = 300
    fields = [f"v{rng.randrange(5)}" for _ in range(n)]
    amounts = [rng.uniform(0.5, 3.0) for _ in range(n)]
    ts = [T0 + rng.uniform(0, 48 * HOUR) for _ in range(n)]
    order = list(range(n))
    rng.shuffle(order)
    # Shuffled, and cut into batches of random sizes so that lateness crosses batches.
    start = 0
    while start < n:
        stop = min(n, start + rng.randrange(1, 40))
        part = order[start:stop]
        frame = map_frame(
            "u1", [fields[i] for i in part], [amounts[i] for i in part], [ts[i] for i in part]
        )
        write_map(store, VISITS, frame)
        start = stop
    now = T0 + 60 * HOUR
    got = read_map(store, VISITS, "u1", now)
    for name, value, last in zip(got.fields, got.values, got.last_ts, strict=True):
        chosen = [i for i in range(n) if fields[i] == name]
        want = expected_decayed(
            [amounts[i] for i in chosen], [ts[i] for i in chosen], now, VISITS.tau
        )
        assert value == pytest.approx(want, rel=1e-9)
        assert last == max(ts[i] for i in chosen)


def test_reading_before_the_latest_event_never_amplifies(store: FeatureStore) -> None:
    write_map(store, VISITS, map_frame("u1", ["v1"], [2.0], [T0 + HOUR]))
    assert read_map(store, VISITS, "u1", T0).values.tolist() == [2.0]


def test_a_map_past_its_bound_keeps_its_heaviest_fields(store: FeatureStore) -> None:
    spec = MapSpec("bounded", "u", half_life_s=HOUR, ttl_s=600.0, max_fields=10)
    fields = [f"f{k:02d}" for k in range(12)]
    # Equal amounts but later events weigh more once decayed to the map's latest time.
    write_map(store, spec, map_frame("u1", fields, [1.0] * 12, [T0 + k * 60.0 for k in range(12)]))
    got = read_map(store, spec, "u1", T0 + HOUR)
    assert got.fields.tolist() == fields[4:]


def test_thousands_of_fields_in_one_write(store: FeatureStore) -> None:
    spec = MapSpec("wide", "v", half_life_s=math.inf, ttl_s=600.0, max_fields=10_000)
    fields = [f"item-{k}" for k in range(2_500)]
    write_map(store, spec, map_frame("v1", fields, [1.0] * 2_500, [T0] * 2_500))
    write_map(store, spec, map_frame("v1", fields[::2], [2.0] * 1_250, [T0] * 1_250))
    got = read_map(store, spec, "v1", T0)
    assert len(got) == 2_500
    assert got.total() == 2_500 + 2 * 1_250
    assert got.lookup(["item-0", "item-1"])[0].tolist() == [3.0, 1.0]


# ---- counters --------------------------------------------------------------------------------


def test_counters_share_a_reference_time_and_stay_exact_out_of_order(store: FeatureStore) -> None:
    rng = random.Random(5)
    events = [
        (f"v{rng.randrange(3)}", rng.randrange(3), T0 + rng.uniform(0, 5 * HOUR))
        for _ in range(200)
    ]
    for chunk in (events[100:], events[:100]):
        batch = WriteBatch()
        frame = pl.DataFrame(chunk, schema=["entity", "slot", "ts"], orient="row")
        batch.add_to_counter(ENGAGEMENT, frame.with_columns(amount=pl.lit(1.0)))
        store.write(batch)
    now = T0 + 6 * HOUR
    reads = ReadBatch()
    handle = reads.counters(ENGAGEMENT, ["v2", "v0", "v9", "v1"])
    got = store.read(reads, now)[handle]
    assert got.found.tolist() == [True, True, False, True]
    for row, venue in enumerate(["v2", "v0", "v9", "v1"]):
        for slot, name in enumerate(ENGAGEMENT.slots):
            times = [t for v, s, t in events if v == venue and s == slot]
            want = expected_decayed([1.0] * len(times), times, now, ENGAGEMENT.tau)
            assert got.column(name)[row] == pytest.approx(want, rel=1e-9)


def test_one_entity_reads_as_its_row_of_a_wider_read(store: FeatureStore) -> None:
    batch = WriteBatch()
    frame = pl.DataFrame({"entity": ["v1", "v1", "v2"], "slot": [0, 2, 1], "ts": [T0, T0, T0]})
    batch.add_to_counter(ENGAGEMENT, frame.with_columns(amount=pl.lit(2.0)))
    store.write(batch)
    now = T0 + HOUR
    reads = ReadBatch()
    wide = reads.counters(ENGAGEMENT, ["v1", "v9"])
    alone = [reads.counters(ENGAGEMENT, [venue]) for venue in ("v1", "v9")]
    results = store.read(reads, now)
    for row, handle in enumerate(alone):
        got, want = results[handle], results[wide]
        assert got.values.shape == (1, len(ENGAGEMENT.slots))
        np.testing.assert_allclose(got.values[0], want.values[row], rtol=1e-12)
        assert got.found.tolist() == [want.found[row]]
    assert results[alone[0]].values[0, 0] == pytest.approx(
        2.0 * 0.5 ** (HOUR / ENGAGEMENT.half_life_s)
    )


def test_counter_slots_out_of_range_are_refused(store: FeatureStore) -> None:
    batch = WriteBatch()
    frame = pl.DataFrame({"entity": ["v1"], "slot": [3], "amount": [1.0], "ts": [T0]})
    with pytest.raises(ValueError, match="eng has 3 slots, got slot 3"):
        batch.add_to_counter(ENGAGEMENT, frame)


# ---- windows ---------------------------------------------------------------------------------


def write_window(store: FeatureStore, entities: list[str], ts: list[float]) -> None:
    batch = WriteBatch()
    frame = pl.DataFrame({"entity": entities, "ts": ts}).with_columns(amount=pl.lit(1.0))
    batch.add_to_window(LAST_HOUR, frame)
    store.write(batch)


def window_totals(store: FeatureStore, entities: list[str], now: float) -> list[float]:
    reads = ReadBatch()
    handle = reads.windows(LAST_HOUR, entities)
    totals: list[float] = store.read(reads, now)[handle][:, 0].tolist()
    return totals


def test_windows_count_the_last_buckets_by_event_time(store: FeatureStore) -> None:
    # Bucket-aligned times: 10, 30 and 50 minutes before `now`'s bucket, and 70 minutes before.
    now = T0 + 2 * HOUR + 1.0
    write_window(store, ["v1"] * 4, [now - 600, now - 1_800, now - 3_000, now - 4_200])
    assert window_totals(store, ["v1"], now) == [3.0]
    assert window_totals(store, ["v1"], now + 1_200) == [2.0]
    assert window_totals(store, ["v1"], now + 3 * HOUR) == [0.0]
    # A read before some events counts only the buckets up to the read time.
    assert window_totals(store, ["v1"], now - 1_500) == [2.0]


def test_late_window_events_count_while_the_ring_holds_them(store: FeatureStore) -> None:
    now = T0 + 1.0
    write_window(store, ["v1"], [now])
    write_window(store, ["v1", "v1"], [now - 900, now - 2 * HOUR])  # late, then too late
    write_window(store, ["v2"] * 3, [now - 900, now, now - 2 * HOUR])
    assert window_totals(store, ["v1", "v2"], now) == [2.0, 2.0]


def test_window_events_in_any_order_give_the_same_totals(store: FeatureStore) -> None:
    rng = random.Random(9)
    ts = [T0 + rng.uniform(0, 3 * HOUR) for _ in range(200)]
    shuffled = ts[:]
    rng.shuffle(shuffled)
    for part in range(0, 200, 25):
        write_window(store, ["v1"] * 25, ts[part : part + 25])
        write_window(store, ["v2"] * 25, sorted(shuffled[part : part + 25], reverse=True))
    for now in (T0 + 3 * HOUR, T0 + 3.5 * HOUR):
        first = math.floor(now / 300) - 11
        want = sum(1.0 for t in ts if first <= math.floor(t / 300) <= math.floor(now / 300))
        assert window_totals(store, ["v1", "v2"], now) == [want, want]


def test_one_blob_holds_windows_of_several_lengths(store: FeatureStore) -> None:
    now = T0 + 10 * 24 * HOUR + 1.0
    ages = [10, 50, 70, 5 * 60, 23 * 60, 25 * 60, 6 * 24 * 60, 8 * 24 * 60]  # minutes
    batch = WriteBatch()
    frame = pl.DataFrame({"entity": "v1", "ts": [now - 60.0 * a for a in ages], "amount": 1.0})
    batch.add_to_window(HOUR_DAY_WEEK, frame)
    store.write(batch)
    reads = ReadBatch()
    handle = reads.windows(HOUR_DAY_WEEK, ["v1", "v2"])
    assert store.read(reads, now)[handle].tolist() == [[2.0, 5.0, 7.0], [0.0, 0.0, 0.0]]
    with pytest.raises(ConfigurationError, match="not a multiple of 300"):
        WindowSpec("bad", "v", rings=((300.0, 12), (450.0, 4)), ttl_s=60.0)


# ---- expiry ----------------------------------------------------------------------------------


def test_streaming_state_expires_after_its_last_write(store: FeatureStore) -> None:
    short = MapSpec("short", "u", half_life_s=HOUR, ttl_s=0.6)
    ring = WindowSpec("short_w", "v", rings=((60.0, 5),), ttl_s=0.6)
    write_map(store, short, map_frame("u1", ["a"], [1.0], [T0]))
    time.sleep(0.4)
    write_map(store, short, map_frame("u1", ["b"], [1.0], [T0]))  # refreshes the TTL
    batch = WriteBatch()
    batch.add_to_window(ring, pl.DataFrame({"entity": ["v1"], "amount": [1.0], "ts": [T0]}))
    store.write(batch)
    time.sleep(0.35)
    assert read_map(store, short, "u1", T0).fields.tolist() == ["a", "b"]
    time.sleep(0.6)
    reads = ReadBatch()
    m, w = reads.map(short, "u1"), reads.windows(ring, ["v1"])
    results = store.read(reads, T0)
    assert len(results[m]) == 0
    assert results[w].tolist() == [[0.0]]


# ---- large batches ---------------------------------------------------------------------------


def test_large_batches_round_trip(store: FeatureStore) -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    venues = np.array([f"v{k}" for k in range(5_000)])
    picks = rng.integers(0, len(venues), n)
    ts = T0 + rng.uniform(0, HOUR, n)
    batch = WriteBatch()
    frame = pl.DataFrame(
        {"entity": venues[picks], "slot": rng.integers(0, 3, n), "amount": 1.0, "ts": ts}
    )
    counts = CounterSpec("counts", "v", ("a", "b", "c"), half_life_s=math.inf, ttl_s=600.0)
    batch.add_to_counter(counts, frame)
    visited = {"entity": "u1", "field": venues[picks[:900]], "amount": 1.0, "ts": ts[:900]}
    batch.add_to_map(VISITS, pl.DataFrame(visited))
    store.write(batch)
    reads = ReadBatch()
    handle = reads.counters(counts, venues)
    visits = reads.map(VISITS, "u1")
    results = store.read(reads, T0 + HOUR)
    per_venue = np.bincount(picks, minlength=len(venues))
    assert np.array_equal(results[handle].values.sum(axis=1), per_venue)
    assert np.array_equal(results[handle].found, per_venue > 0)
    assert len(results[visits]) == len(np.unique(picks[:900]))
