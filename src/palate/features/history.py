"""Order history features: how often each customer ordered from each venue, venue popularity.

Built in bulk from the event log's orders and kept current by :meth:`OrderHistory.record`, so
a customer's next ranking reflects the order they just placed.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
import polars as pl

from palate.pipeline.candidates import FloatArray, IntArray


class OrderHistory:
    """Customer×venue and venue order counts over venue positions of a serving index."""

    def __init__(self, n_venues: int) -> None:
        self._lock = threading.Lock()
        self._per_user: dict[str, tuple[IntArray, FloatArray]] = {}
        self.venue_orders: FloatArray = np.zeros(n_venues, dtype=np.float64)

    @classmethod
    def from_orders(
        cls, user_ids: npt.NDArray[np.str_] | list[str], venue_positions: IntArray, n_venues: int
    ) -> OrderHistory:
        """Count orders per (customer, venue); a negative position marks an unknown venue.

        >>> h = OrderHistory.from_orders(["u1", "u1", "u2"], np.array([0, 0, 1]), n_venues=2)
        >>> h.user_counts("u1", np.array([1, 0], dtype=np.int32)).tolist()
        [0.0, 2.0]
        """
        history = cls(n_venues)
        frame = pl.DataFrame({"user_id": user_ids, "venue": np.asarray(venue_positions)})
        frame = frame.filter(pl.col("venue") >= 0)
        history.venue_orders += np.bincount(frame["venue"].to_numpy(), minlength=n_venues)
        grouped = (
            frame.group_by("user_id", "venue")
            .len()
            .sort("venue")
            .group_by("user_id", maintain_order=True)
            .agg("venue", "len")
        )
        for user_id, venues, counts in grouped.iter_rows():
            history._per_user[user_id] = (
                np.asarray(venues, dtype=np.int32),
                np.asarray(counts, dtype=np.float64),
            )
        return history

    def venue_counts(self, positions: IntArray) -> FloatArray:
        """Total orders per venue position; venues added after the build count from 0."""
        orders = self.venue_orders
        out = np.zeros(len(positions), dtype=np.float64)
        known = positions < len(orders)
        out[known] = orders[positions[known]]
        return out

    def record(self, user_id: str, venue_position: int) -> None:
        """Add one order; readers see either the old or the new arrays, never a mix."""
        with self._lock:
            venues, counts = self._per_user.get(
                user_id, (np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64))
            )
            at = int(np.searchsorted(venues, venue_position))
            if at < len(venues) and venues[at] == venue_position:
                counts = counts.copy()
                counts[at] += 1.0
            else:
                venues = np.insert(venues, at, venue_position).astype(np.int32)
                counts = np.insert(counts, at, 1.0)
            self._per_user[user_id] = (venues, counts)
            if venue_position >= len(self.venue_orders):
                grown = np.zeros(venue_position + 1, dtype=np.float64)
                grown[: len(self.venue_orders)] = self.venue_orders
                self.venue_orders = grown
            self.venue_orders[venue_position] += 1.0

    def user_counts(self, user_id: str, positions: IntArray) -> FloatArray:
        """The customer's order count for each venue position (0 where never ordered)."""
        entry = self._per_user.get(user_id)
        out = np.zeros(len(positions), dtype=np.float64)
        if entry is None or len(positions) == 0:
            return out
        venues, counts = entry
        at = np.searchsorted(venues, positions).clip(max=len(venues) - 1)
        hit = venues[at] == positions
        out[hit] = counts[at[hit]]
        return out

    @property
    def customer_count(self) -> int:
        """Customers with at least one order."""
        return len(self._per_user)

    def ordered_venues(self, user_id: str) -> IntArray:
        """Venue positions the customer has ordered from."""
        entry = self._per_user.get(user_id)
        return np.empty(0, dtype=np.int32) if entry is None else entry[0]
