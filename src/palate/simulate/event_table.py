"""Event columns gathered batch by batch as numpy arrays, then one Arrow table sorted by time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from palate.domain.events import EntityKind, EventType, Premise
from palate.events.schema import EVENT_SCHEMA, ORDER_LINE_TYPE, conform
from palate.simulate.baskets import Baskets

KINDS = (EventType.IMPRESSION, EventType.CLICK, EventType.ADD_TO_CART, EventType.ORDER)
IMPRESSION, CLICK, ADD_TO_CART, ORDER = range(len(KINDS))
_INT_COLUMNS = ("request", "position", "venue", "item", "quantity", "order")


def make_ids(prefix: str, n: int) -> pa.Array:
    """``prefix0 … prefix{n-1}`` as an Arrow string array.

    >>> make_ids("u", 3).to_pylist()
    ['u0', 'u1', 'u2']
    """
    numbers = pa.array(np.arange(n, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(prefix, numbers, "")


def _take(values: pa.Array, index: np.ndarray) -> pa.Array:
    """``values[index]`` with ``-1`` giving null."""
    return values.take(pa.array(index, mask=index < 0))


def _constant(value: str, present: np.ndarray) -> pa.Array:
    return _take(pa.array([value]), np.where(present, 0, -1))


class EventBuffer:
    """Columns of all events so far; every row a customer ``user`` at (lat, lon) at ``ts_us``."""

    def __init__(self) -> None:
        self._parts: list[dict[str, np.ndarray]] = []
        self.rows = 0

    def add(self, kind: int, ts_us: np.ndarray, user: np.ndarray, lat: np.ndarray, lon: np.ndarray,
            **ints: np.ndarray) -> None:  # fmt: skip
        """Append rows of one kind; integer columns not given are null (``-1``)."""
        n = len(ts_us)
        if n == 0:
            return
        part = {
            "kind": np.full(n, kind, dtype=np.int8),
            "ts": ts_us,
            "user": user,
            "lat": lat,
            "lon": lon,
        }
        for name in _INT_COLUMNS:
            part[name] = np.broadcast_to(ints.get(name, -1), n).astype(np.int64)
        unknown = set(ints) - set(_INT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown event columns: {sorted(unknown)}")
        self._parts.append(part)
        self.rows += n

    def _columns(self) -> dict[str, np.ndarray]:
        if not self._parts:
            return {
                key: np.empty(0, dtype=np.int64)
                for key in ("kind", "ts", "user", "lat", "lon", *_INT_COLUMNS)
            }
        cols = {key: np.concatenate([p[key] for p in self._parts]) for key in self._parts[0]}
        order = np.lexsort((np.arange(len(cols["ts"])), cols["kind"], cols["ts"]))
        return {key: value[order] for key, value in cols.items()}

    def to_table(
        self, baskets: Baskets, n_users: int, n_venues: int, n_items: int, section: str
    ) -> pa.Table:
        """The event log in :data:`EVENT_SCHEMA`, sorted by time (then by kind within a moment)."""
        c = self._columns()
        kind, n = c["kind"], len(c["kind"])
        listed = (kind <= CLICK) & (c["request"] >= 0)
        shown = kind <= CLICK
        venue_ids, item_ids = make_ids("v", n_venues), make_ids("i", n_items)
        arrays = {
            "event_id": make_ids("e", n),
            "type": pa.array([str(k) for k in KINDS]).take(pa.array(kind)),
            "user_id": make_ids("u", n_users).take(pa.array(c["user"])),
            "ts": pa.array(c["ts"], type=pa.timestamp("us", tz="UTC")),
            "lat": pa.array(c["lat"], type=pa.float64()),
            "lon": pa.array(c["lon"], type=pa.float64()),
            "request_id": _take(make_ids("r", int(c["request"].max(initial=-1)) + 1), c["request"]),
            "premise": _constant(str(Premise.DISCOVERY), listed),
            "section": _constant(section, listed),
            "position": pa.array(c["position"], type=pa.int32(), mask=c["position"] < 0),
            "entity_kind": _constant(str(EntityKind.VENUE), shown),
            "entity_id": _take(venue_ids, np.where(shown, c["venue"], -1)),
            "venue_id": _take(venue_ids, c["venue"]),
            "item_id": _take(item_ids, c["item"]),
            "quantity": pa.array(c["quantity"], type=pa.int32(), mask=c["quantity"] < 0),
            "order_id": _take(make_ids("o", len(baskets.total)), c["order"]),
            "total": _take(pa.array(baskets.total, type=pa.float64()), c["order"]),
            "lines": _take(_lines(baskets, item_ids), c["order"]),
        }
        return conform(pa.table(arrays))


def _lines(baskets: Baskets, item_ids: pa.Array) -> pa.Array:
    """One list of order lines per order, in order-number order."""
    counts = np.bincount(baskets.order, minlength=len(baskets.total))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    struct = pa.StructArray.from_arrays(
        [
            item_ids.take(pa.array(baskets.item)),
            pa.array(baskets.quantity, type=pa.int32()),
            pa.array(baskets.unit_price, type=pa.float64()),
        ],
        fields=list(ORDER_LINE_TYPE),
    )
    return pa.ListArray.from_arrays(
        pa.array(offsets), struct, type=EVENT_SCHEMA.field("lines").type
    )
