"""The next-basket protocol of Li et al., "A Next Basket Recommendation Reality Check" (TOIS 2023).

From any order log in Palate's event format:

1. **Baskets.** Each ``order`` event is a basket: the SET of its items (quantities ignored).
   A user's baskets are ordered by time, ties by ``order_id``.
2. **Users.** Users with ``min_baskets`` to ``max_baskets`` baskets are kept (the paper's 3 and
   50); the others are dropped, not truncated.
3. **Items.** Items bought fewer than ``min_item_count`` times (the paper's 17) in the history
   baskets, i.e. all baskets except each user's last, are removed from every basket; baskets
   left empty disappear, and so do users left without a target or without history.
4. **Split.** Users are shuffled with ``seed`` and split 72 / 8 / 20 into train, validation and
   test users (the paper's ``keyset_fold.py``: 0.8 × 0.9, 0.8 × 0.1, 0.2).
5. **Targets.** Each user's LAST basket is the target; all earlier baskets are the history.
   Train users' targets may be used for fitting; validation targets for tuning only; test
   targets only for the reported metrics.

``item_level="product"`` strips a leading ``"{venue_id}:"`` from item ids, the convention of
Palate's importers for chains that list the same product in every store (Complete Journey,
DHRD), so that buying the same product in two stores counts as a repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from palate.events import EventLog
from palate.training.metrics import IntArray

ItemLevel = Literal["item", "product"]
Role = Literal["train", "validation", "test"]
ROLES: tuple[Role, ...] = ("train", "validation", "test")
_ORDER_COLUMNS = ["type", "user_id", "ts", "venue_id", "order_id", "lines"]
_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True, slots=True)
class ProtocolConfig:
    """Filters and split shares; the defaults are the paper's."""

    min_baskets: int = 3
    max_baskets: int | None = 50
    min_item_count: int = 17
    item_level: ItemLevel = "item"
    shares: tuple[float, float, float] = (0.72, 0.08, 0.20)

    def __post_init__(self) -> None:
        if self.min_baskets < 2:
            raise ValueError("min_baskets must be at least 2 (one history basket, one target)")
        if abs(sum(self.shares) - 1.0) > 1e-9 or min(self.shares) < 0:
            raise ValueError(f"shares must be non-negative and sum to 1, got {self.shares}")


def read_orders(source: pa.Table | Path) -> pa.Table:
    """The order events of an event table or of an :class:`EventLog` directory."""
    if isinstance(source, Path):
        return EventLog(source).read(columns=_ORDER_COLUMNS, types=["order"])
    return source.select(_ORDER_COLUMNS).filter(pc.equal(source["type"], "order"))


def order_baskets(orders: pa.Table, item_level: ItemLevel = "item") -> pl.DataFrame:
    """One row per distinct item of each order: ``user_id, order_id, ts, item_id``.

    >>> from palate.events.schema import conform
    >>> from datetime import datetime, timezone
    >>> t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> line = [{"item_id": "s1:milk", "quantity": 2, "unit_price": 1.0}]
    >>> events = conform(pa.table({"type": ["order"], "user_id": ["u"], "ts": [t],
    ...     "venue_id": ["s1"], "order_id": ["o"], "lines": [line + line]}))
    >>> order_baskets(events, "product")["item_id"].to_list()
    ['milk']
    """
    frame = pl.from_arrow(read_orders(orders).select(_ORDER_COLUMNS[1:]))
    if not isinstance(frame, pl.DataFrame):  # from_arrow returns a Series for arrays
        raise TypeError("expected a table of orders")
    lines = (
        frame.filter(pl.col("user_id").is_not_null() & pl.col("order_id").is_not_null())
        .explode("lines")
        .filter(pl.col("lines").is_not_null())
        .with_columns(item_id=pl.col("lines").struct.field("item_id"))
        .filter(pl.col("item_id").is_not_null())
    )
    if item_level == "product":
        prefix = pl.col("venue_id").fill_null("") + ":"
        stripped = pl.col("item_id").str.slice(prefix.str.len_chars())
        lines = lines.with_columns(
            item_id=pl.when(pl.col("item_id").str.starts_with(prefix))
            .then(stripped)
            .otherwise(pl.col("item_id"))
        )
    return lines.select("user_id", "order_id", "ts", "item_id").unique(maintain_order=True)


def split_users(user_ids: Sequence[str], seed: int, shares: Sequence[float]) -> list[Role]:
    """A role per user (in the order given): a seeded shuffle cut at the cumulative shares.

    >>> roles = split_users([f"u{i}" for i in range(100)], 0, (0.72, 0.08, 0.2))
    >>> [roles.count(r) for r in ROLES]
    [72, 8, 20]
    """
    n = len(user_ids)
    order = np.argsort(np.asarray(user_ids, dtype=object), kind="stable")
    shuffled = order[np.random.default_rng(seed).permutation(n)]
    # The epsilon keeps 500 × (0.72 + 0.08) at 400 despite binary floating point.
    cuts = [int(n * shares[0] + 1e-9), int(n * (shares[0] + shares[1]) + 1e-9)]
    role_index = np.empty(n, dtype=np.int64)
    role_index[shuffled] = np.searchsorted(cuts, np.arange(n), side="right")
    return [ROLES[int(i)] for i in role_index]


@dataclass(frozen=True)
class BasketSplit:
    """Baskets after the protocol's filters, users with their roles, and indexed items.

    ``lines``: ``user`` (row of ``users``), ``basket`` (0-based position in the user's
    sequence), ``item`` (index into ``item_ids``), ``day`` (days since the first basket of the
    log) and ``target`` (part of the user's last basket). ``users``: ``user``, ``user_id``,
    ``role``, ``n_baskets`` (target included) and ``target_day``. ``user_ids`` and
    ``item_ids`` name the user and item indices.
    """

    lines: pl.DataFrame
    users: pl.DataFrame
    user_ids: pl.Series
    item_ids: pl.Series
    config: ProtocolConfig
    seed: int

    @property
    def n_users(self) -> int:
        """Users kept by the protocol (the size of the user index)."""
        return self.user_ids.len()

    @property
    def n_items(self) -> int:
        """Items kept by the protocol."""
        return self.item_ids.len()

    def users_of(self, role: Role) -> IntArray:
        """Indices of the users with ``role``, ascending."""
        picked = self.users.filter(pl.col("role") == role).get_column("user")
        return picked.to_numpy().astype(np.int64)

    def history(self) -> pl.DataFrame:
        """Lines of every user's history baskets (all but the last)."""
        return self.lines.filter(~pl.col("target"))

    def known(self) -> pl.DataFrame:
        """Lines a recommender may learn from: everything but validation and test targets."""
        train = self.users.filter(pl.col("role") == "train").select("user", train=pl.lit(True))
        joined = self.lines.join(train, on="user", how="left")
        return joined.filter(~pl.col("target") | pl.col("train").fill_null(False)).drop("train")

    def target_matrix(self, users: IntArray) -> sp.csr_array:
        """Binary ``len(users) × n_items`` matrix of the users' target items, rows as given."""
        return self._matrix(self.lines.filter(pl.col("target")), users)

    def history_matrix(self, users: IntArray) -> sp.csr_array:
        """Binary ``len(users) × n_items`` matrix of the items in the users' histories."""
        return self._matrix(self.history(), users)

    def _matrix(self, lines: pl.DataFrame, users: IntArray) -> sp.csr_array:
        row_of = np.full(self.n_users, -1, dtype=np.int64)
        row_of[users] = np.arange(len(users))
        pairs = lines.select("user", "item").unique()
        rows = row_of[pairs.get_column("user").to_numpy()]
        keep = rows >= 0
        cols = pairs.get_column("item").to_numpy()[keep]
        data = np.ones(int(keep.sum()), dtype=np.float64)
        shape = (len(users), self.n_items)
        return sp.csr_array((data, (rows[keep], cols)), shape=shape)


def build_split(
    orders: pa.Table | Path | pl.DataFrame,
    *,
    config: ProtocolConfig | None = None,
    seed: int = 0,
) -> BasketSplit:
    """Apply the protocol to an order log: an event table, an event-log directory, or the
    :func:`order_baskets` of one (already at ``config.item_level``)."""
    config = config or ProtocolConfig()
    if isinstance(orders, pl.DataFrame):
        baskets = orders
    else:
        baskets = order_baskets(read_orders(orders), config.item_level)
    positioned = _filter_items(_filter_users(_position(baskets), config), config)
    if positioned.height == 0:
        raise ValueError("no user has enough baskets for the protocol")
    users = _users(positioned, seed, config)
    item_ids = positioned.get_column("item_id").unique().sort()
    first_ts = positioned.get_column("ts").min()
    lines = (
        positioned.join(users.select("user_id", "user"), on="user_id")
        .join(item_ids.to_frame().with_row_index("item"), on="item_id")
        .select(
            pl.col("user").cast(pl.Int64),
            pl.col("basket").cast(pl.Int64),
            pl.col("item").cast(pl.Int64),
            day=(pl.col("ts") - pl.lit(first_ts)).dt.total_microseconds() / _US_PER_DAY,
            target=pl.col("target"),
        )
        .sort("user", "basket", "item")
    )
    target_day = lines.filter(pl.col("target")).group_by("user").agg(target_day=pl.first("day"))
    users = users.join(target_day, on="user").sort("user")
    return BasketSplit(lines, users, users.get_column("user_id"), item_ids, config, seed)


def _position(baskets: pl.DataFrame) -> pl.DataFrame:
    """Adds ``basket`` (position in the user's sequence), ``n_baskets`` and ``target``."""
    orders = (
        baskets.select("user_id", "order_id", "ts")
        .unique(["user_id", "order_id"])
        .sort("user_id", "ts", "order_id")
        .with_columns(
            basket=pl.int_range(pl.len()).over("user_id"), n_baskets=pl.len().over("user_id")
        )
        .with_columns(target=pl.col("basket") == pl.col("n_baskets") - 1)
    )
    return baskets.select("user_id", "order_id", "item_id").join(orders, on=["user_id", "order_id"])


def _filter_users(baskets: pl.DataFrame, config: ProtocolConfig) -> pl.DataFrame:
    kept = pl.col("n_baskets") >= config.min_baskets
    if config.max_baskets is not None:
        kept &= pl.col("n_baskets") <= config.max_baskets
    return baskets.filter(kept)


def _filter_items(baskets: pl.DataFrame, config: ProtocolConfig) -> pl.DataFrame:
    """Drops rare items, then users whose target or whole history vanished with them."""
    kept = baskets
    if config.min_item_count > 0:
        counts = baskets.filter(~pl.col("target")).group_by("item_id").len()
        frequent = counts.filter(pl.col("len") >= config.min_item_count).select("item_id")
        kept = baskets.join(frequent, on="item_id", how="semi")
    was_target = kept.filter(pl.col("target")).select("user_id", "order_id").unique()
    kept = kept.join(was_target.select("user_id").unique(), on="user_id", how="semi")
    # Re-number the surviving baskets; the old last basket must stay the last one.
    renumbered = _position(kept)
    complete = renumbered.filter(pl.col("n_baskets") >= 2).select("user_id").unique()
    return renumbered.join(complete, on="user_id", how="semi")


def _users(baskets: pl.DataFrame, seed: int, config: ProtocolConfig) -> pl.DataFrame:
    per_user = (
        baskets.group_by("user_id").agg(n_baskets=pl.col("n_baskets").first()).sort("user_id")
    )
    roles = split_users(per_user.get_column("user_id").to_list(), seed, config.shares)
    return per_user.with_row_index("user").with_columns(
        pl.col("user").cast(pl.Int64), role=pl.Series(roles, dtype=pl.String)
    )


def earlier(split: BasketSplit, baskets_back: int) -> BasketSplit:
    """The same protocol ``baskets_back`` baskets earlier: every user's last baskets dropped.

    Each user's basket ``n_baskets - 1 - baskets_back`` becomes the target, with the baskets
    before it as history; users left with fewer than two baskets drop out. Learned models
    train on such views of the train users to get more examples without seeing any basket
    of the real validation or test targets.
    """
    if baskets_back <= 0:
        return split
    users = split.users.with_columns(n_baskets=pl.col("n_baskets").cast(pl.Int64) - baskets_back)
    users = users.filter(pl.col("n_baskets") >= 2)
    lines = split.lines.join(users.select("user", "n_baskets"), on="user").filter(
        pl.col("basket") < pl.col("n_baskets")
    )
    lines = lines.with_columns(target=pl.col("basket") == pl.col("n_baskets") - 1).drop("n_baskets")
    target_day = lines.filter(pl.col("target")).group_by("user").agg(target_day=pl.first("day"))
    users = users.drop("target_day").join(target_day, on="user").sort("user")
    return BasketSplit(lines, users, split.user_ids, split.item_ids, split.config, split.seed)
