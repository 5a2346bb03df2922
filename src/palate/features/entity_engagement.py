"""Impressions and clicks of banners, category tiles, brands and Discovery sections.

Write path: every impression or click of a ``banner``, ``category`` or ``brand`` entity, and
every impression that names a ``section``, adds to a decayed counter ``(impressions, clicks)``
of its arm (``banner:n0``, ``section:Order again`` …) at three scopes: the customer, the city
and the market of the event's location. Clicks carry no section and often no location, so
they inherit both from their impression (same request and entity), remembered in a bounded
in-process table; a click whose impression this process never saw counts for the arm's
customer scope and, where it has a location, its city and market.

Read path: :meth:`EntityEngagement.evidence` returns market, city and customer evidence for
a list of arms in one store read, ready for
:func:`palate.experiments.thompson.hierarchical_posterior`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from palate.domain.events import EntityKind, EventType
from palate.domain.market import City
from palate.events.schema import conform
from palate.features.config import DAY_S, HOUR_S
from palate.features.store import (
    CounterSpec,
    CounterValues,
    FeatureStore,
    Handle,
    ReadBatch,
    ReadResults,
    WriteBatch,
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Decayed clicks and impressions of every arm at one level of the hierarchy."""

    clicks: npt.NDArray[np.float64]
    impressions: npt.NDArray[np.float64]

    @classmethod
    def none(cls, arms: int) -> Evidence:
        """No evidence for ``arms`` arms."""
        return cls(np.zeros(arms), np.zeros(arms))


ENTRY_KINDS = (EntityKind.BANNER.value, EntityKind.CATEGORY.value, EntityKind.BRAND.value)
_ENTRY_KIND_SET = pa.array(ENTRY_KINDS, pa.string())
SECTION = "section"
IMPRESSIONS, CLICKS = 0, 1
ObjectArray = npt.NDArray[np.object_]


def _that_count(events: pa.Table) -> pa.Table:
    """The events that can move an arm: every click (its impression may carry the section),
    and the impressions of entry points or inside a section. Other impressions would only
    take attribution memory from the ones that matter.
    """
    click = pc.equal(events.column("type"), EventType.CLICK.value)
    entry = pc.is_in(events.column("entity_kind"), value_set=_ENTRY_KIND_SET)
    sectioned = pc.is_valid(events.column("section"))
    keep = pc.or_kleene(pc.or_kleene(click, entry), sectioned)
    return events.filter(pc.fill_null(keep, False))


def arm(kind: str, entity_id: str) -> str:
    """The counter key of one arm.

    >>> arm("section", "Order again")
    'section:Order again'
    """
    return f"{kind}:{entity_id}"


@dataclass(frozen=True, slots=True)
class EntityEngagementConfig:
    """Decay, expiry and the size of the click-attribution table."""

    half_life_hours: float = 168.0
    ttl_days: float = 60.0
    attribution_entries: int = 200_000


class CityLocator:
    """The city (nearest centre) and market of delivery points.

    >>> from palate.domain.geo import Location
    >>> cities = {"hel": City("hel", "Helsinki", "fi", Location(60.17, 24.94)),
    ...           "sto": City("sto", "Stockholm", "se", Location(59.33, 18.07))}
    >>> CityLocator(cities).city_of(np.array([60.2, np.nan]), np.array([24.9, 0.0])).tolist()
    ['hel', None]
    """

    def __init__(self, cities: Mapping[str, City]) -> None:
        self.ids = np.array(list(cities), dtype=object)
        self.lat = np.array([c.center.lat for c in cities.values()], dtype=np.float64)
        self.lon = np.array([c.center.lon for c in cities.values()], dtype=np.float64)
        self.market = {c.id: c.market_id for c in cities.values()}

    def city_of(self, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> ObjectArray:
        """Nearest city centre per point (None without a point or without cities)."""
        out: ObjectArray = np.full(len(lat), None, dtype=object)
        known = ~(np.isnan(lat) | np.isnan(lon))
        if not len(self.ids) or not known.any():
            return out
        scale = np.cos(np.radians(lat[known]))[:, None]
        d2 = (lat[known, None] - self.lat) ** 2 + ((lon[known, None] - self.lon) * scale) ** 2
        out[known] = self.ids[d2.argmin(axis=1)]
        return out


class EntityEngagement:
    """Arm counters over a feature store, and the impressions that clicks are attributed to."""

    def __init__(
        self,
        store: FeatureStore,
        locator: CityLocator,
        config: EntityEngagementConfig | None = None,
    ) -> None:
        self.store = store
        self.locator = locator
        self.config = config or EntityEngagementConfig()
        c = self.config
        self.spec = CounterSpec(
            "arm", "e", ("impressions", "clicks"), c.half_life_hours * HOUR_S, c.ttl_days * DAY_S
        )
        self._seen: dict[str, tuple[str | None, str | None]] = {}
        self._lock = threading.Lock()

    # ---- write path ------------------------------------------------------------------------

    def ingest(self, events: pa.Table) -> int:
        """Count the batch's impressions and clicks of entry points and sections; returns rows."""
        events = _that_count(conform(events))
        if not events.num_rows:
            return 0  # most batches: venue impressions of plain Discovery, nothing to count
        frame = self._frame(events)
        if not frame.height:
            return 0
        rows = self._arm_rows(frame)
        if not rows.height:
            return 0
        market = pl.col("city").replace_strict(self.locator.market, default=None)
        scoped = pl.concat(
            [
                rows.select("arm", sub=pl.lit("u:") + pl.col("user_id"), slot="slot", ts="ts"),
                rows.select("arm", sub=pl.lit("c:") + pl.col("city"), slot="slot", ts="ts"),
                rows.select("arm", sub=pl.lit("m:") + market, slot="slot", ts="ts"),
            ]
        ).drop_nulls()
        batch = WriteBatch()
        batch.add_to_counter(
            self.spec, scoped.select(pl.col("arm").alias("entity"), "sub", "slot", "ts", amount=1.0)
        )
        self.store.write(batch)
        return scoped.height

    def _frame(self, events: pa.Table) -> pl.DataFrame:
        """Impressions and clicks with their arm, city and attribution key."""
        names = ["type", "user_id", "ts", "lat", "lon", "request_id", "section"]
        table = events.select([*names, "entity_kind", "entity_id"])
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)  # noqa: S101 - a Table always converts to a frame
        kinds = [EventType.IMPRESSION.value, EventType.CLICK.value]
        frame = frame.filter(
            pl.col("type").is_in(kinds)
            & pl.col("user_id").is_not_null()
            & pl.col("ts").is_not_null()
        )
        lat = frame["lat"].fill_null(np.nan).to_numpy().astype(np.float64)
        lon = frame["lon"].fill_null(np.nan).to_numpy().astype(np.float64)
        cities = self.locator.city_of(lat, lon)
        key = pl.concat_str(
            [pl.col("request_id"), pl.col("entity_kind"), pl.col("entity_id")], separator="\x1f"
        )
        return frame.with_columns(
            pl.Series("city", cities.tolist(), dtype=pl.String),
            key.alias("key"),
            (pl.col("ts").dt.epoch("us").cast(pl.Float64) / 1e6).alias("ts"),
        )

    def _arm_rows(self, frame: pl.DataFrame) -> pl.DataFrame:
        """One row per (arm, event): arm, user_id, city, slot, ts."""
        shown = frame.filter(pl.col("type") == EventType.IMPRESSION.value)
        self._remember(shown)  # first, so a click in the same batch finds its impression
        clicks = self._attributed_clicks(frame.filter(pl.col("type") == EventType.CLICK.value))
        both = pl.concat(
            [
                shown.with_columns(slot=pl.lit(IMPRESSIONS)),
                clicks.with_columns(slot=pl.lit(CLICKS)),
            ]
        )
        entry = both.filter(pl.col("entity_kind").is_in(ENTRY_KINDS)).select(
            pl.concat_str([pl.col("entity_kind"), pl.col("entity_id")], separator=":").alias("arm"),
            "user_id",
            "city",
            "slot",
            "ts",
        )
        sections = both.filter(pl.col("section").is_not_null()).select(
            (pl.lit(f"{SECTION}:") + pl.col("section")).alias("arm"),
            "user_id",
            "city",
            "slot",
            "ts",
        )
        return pl.concat([entry, sections]).drop_nulls(["arm"])

    def _remember(self, shown: pl.DataFrame) -> None:
        """Keep each impression's section and city for the clicks that follow it."""
        keyed = shown.filter(pl.col("key").is_not_null())
        if not keyed.height:
            return
        values = zip(keyed["section"].to_list(), keyed["city"].to_list(), strict=True)
        with self._lock:
            self._seen.update(zip(keyed["key"].to_list(), values, strict=True))
            excess = len(self._seen) - self.config.attribution_entries
            for old in list(islice(self._seen, max(excess, 0))):
                del self._seen[old]

    def _attributed_clicks(self, clicks: pl.DataFrame) -> pl.DataFrame:
        """Clicks with the section and (when missing) the city of their impression."""
        if not clicks.height:
            return clicks
        with self._lock:
            found = [self._seen.get(k, (None, None)) if k else (None, None) for k in clicks["key"]]
        section = pl.Series("seen_section", [s for s, _ in found], dtype=pl.String)
        city = pl.Series("seen_city", [c for _, c in found], dtype=pl.String)
        return (
            clicks.with_columns(section, city)
            .with_columns(
                pl.coalesce("section", "seen_section").alias("section"),
                pl.coalesce("seen_city", "city").alias("city"),
            )
            .drop("seen_section", "seen_city")
        )

    # ---- read path -------------------------------------------------------------------------

    def evidence(
        self,
        arms: Sequence[str],
        user_id: str,
        city_id: str | None,
        market_id: str | None,
        now: datetime,
    ) -> list[Evidence]:
        """Market, city and customer evidence (broadest first) for ``arms``, in one read."""
        if not arms:
            return [Evidence.none(0)] * 3
        reads = ReadBatch()
        planned = self.plan_evidence(reads, arms, user_id, city_id, market_id)
        return planned.levels(self.store.read(reads, now.timestamp()), arms)

    def plan_evidence(
        self,
        reads: ReadBatch,
        arms: Sequence[str],
        user_id: str,
        city_id: str | None,
        market_id: str | None,
    ) -> PlannedEvidence:
        """:meth:`evidence`'s counters planned into a shared batch, for ``arms`` or any of
        them (the tiles shown are known only after the read)."""
        subs = [
            None if market_id is None else f"m:{market_id}",
            None if city_id is None else f"c:{city_id}",
            f"u:{user_id}",
        ]
        handles = tuple(None if s is None else reads.counters(self.spec, arms, sub=s) for s in subs)
        return PlannedEvidence({a: row for row, a in enumerate(arms)}, handles)


@dataclass(frozen=True, slots=True)
class PlannedEvidence:
    """The evidence counters planned for a set of arms: its row per arm, a handle per level."""

    rows: Mapping[str, int]
    handles: tuple[Handle[CounterValues] | None, ...]

    def levels(self, results: ReadResults, arms: Sequence[str]) -> list[Evidence]:
        """Market, city and customer evidence of ``arms`` (each one of the planned arms)."""
        at = np.fromiter((self.rows[a] for a in arms), dtype=np.intp, count=len(arms))
        levels = []
        for handle in self.handles:
            if handle is None:
                levels.append(Evidence.none(len(arms)))
                continue
            counters = results[handle]
            clicks, impressions = counters.column("clicks"), counters.column("impressions")
            levels.append(Evidence(clicks.take(at), impressions.take(at)))
        return levels
