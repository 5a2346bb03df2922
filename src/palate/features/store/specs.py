"""Declarations of the state a feature keeps in the online store.

A spec names a piece of state and fixes how it behaves; the store is stateless about
features and learns everything it needs (decay, slots, expiry) from the spec passed with each
call. Four kinds of state exist:

* :class:`MapSpec` — per entity, an open set of fields, each a time-decayed sum with the time
  of its latest event (customer → venue, customer → cuisine, venue → item …);
* :class:`CounterSpec` — per entity, a fixed vector of time-decayed sums sharing one reference
  time, packed in one blob so that N entities are one ``MGET``;
* :class:`WindowSpec` — per entity, event counts in a ring of time buckets (sliding windows);
* :class:`SnapshotSpec` — per entity, a batch-computed float32 vector, versioned and activated
  atomically; snapshots never expire, everything else does (it rebuilds from the stream).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from palate.errors import ConfigurationError

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KIND = re.compile(r"^[a-z]{1,8}$")

CUSTOMER = "u"
"""Entity kind of customers: their keys share the hash tag ``{u:<id>}``."""
VENUE = "v"
"""Entity kind of venues: their keys share the hash tag ``{v:<id>}``."""


def _check_name(what: str, name: str, kind: str) -> None:
    if not _NAME.match(name):
        raise ConfigurationError(
            f"{what} name must be lowercase letters, digits and '_' (at most 40), got {name!r}"
        )
    if not _KIND.match(kind):
        raise ConfigurationError(
            f"{what} {name!r}: kind must be 1-8 lowercase letters, got {kind!r}"
        )


def _check_positive(what: str, field: str, value: float) -> None:
    if not value > 0:
        raise ConfigurationError(f"{what}.{field} must be > 0, got {value}")


def decay_tau(half_life_s: float) -> float:
    """The time constant of exponential decay with this half-life (``inf``: no decay).

    >>> round(decay_tau(math.log(2)), 6)
    1.0
    >>> decay_tau(math.inf)
    inf
    """
    return half_life_s / math.log(2)


@dataclass(frozen=True, slots=True)
class MapSpec:
    """An open map ``field → decayed sum`` per entity (and optional sub-key).

    ``half_life_s`` may be ``inf`` for plain counts. ``ttl_s`` is refreshed on every write.
    ``max_fields`` bounds the map: past it, the fields of least decayed weight are dropped
    (down to 80 % of the bound) so that a long-lived entity cannot grow without limit.
    """

    name: str
    kind: str
    half_life_s: float
    ttl_s: float
    max_fields: int = 1_000

    def __post_init__(self) -> None:
        _check_name("map", self.name, self.kind)
        _check_positive(f"map {self.name}", "half_life_s", self.half_life_s)
        _check_positive(f"map {self.name}", "ttl_s", self.ttl_s)
        if self.max_fields < 1:
            raise ConfigurationError(
                f"map {self.name}.max_fields must be >= 1, got {self.max_fields}"
            )

    @property
    def tau(self) -> float:
        """Decay time constant in seconds."""
        return decay_tau(self.half_life_s)


@dataclass(frozen=True, slots=True)
class CounterSpec:
    """A fixed vector of decayed sums per entity (and optional sub-key), one blob each."""

    name: str
    kind: str
    slots: tuple[str, ...]
    half_life_s: float
    ttl_s: float

    def __post_init__(self) -> None:
        _check_name("counter", self.name, self.kind)
        if not self.slots or len(set(self.slots)) != len(self.slots):
            raise ConfigurationError(
                f"counter {self.name}.slots must be distinct and non-empty, got {self.slots}"
            )
        _check_positive(f"counter {self.name}", "half_life_s", self.half_life_s)
        _check_positive(f"counter {self.name}", "ttl_s", self.ttl_s)

    @property
    def tau(self) -> float:
        """Decay time constant in seconds."""
        return decay_tau(self.half_life_s)

    @property
    def blob_size(self) -> int:
        """Bytes of one packed entity: the reference time then one float64 per slot."""
        return 8 * (1 + len(self.slots))

    def slot(self, name: str) -> int:
        """Position of a slot by name."""
        try:
            return self.slots.index(name)
        except ValueError:
            raise ConfigurationError(f"counter {self.name} has no slot {name!r}") from None


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """Counts over sliding windows of event time, one ring of buckets per window.

    ``rings`` holds ``(bucket_s, buckets)`` per window: ``((300, 12), (3600, 24))`` counts the
    last hour in 5-minute buckets and the last day in hourly ones, all in one blob per entity.
    Every bucket length must be a whole multiple of the shortest. A window covers its current
    bucket and the ``buckets - 1`` before it; an event older than a ring when it arrives is
    dropped from that ring, being outside every window that can still be asked for.
    """

    name: str
    kind: str
    rings: tuple[tuple[float, int], ...]
    ttl_s: float

    def __post_init__(self) -> None:
        _check_name("window", self.name, self.kind)
        _check_positive(f"window {self.name}", "ttl_s", self.ttl_s)
        if not self.rings:
            raise ConfigurationError(f"window {self.name}.rings must not be empty")
        for bucket_s, buckets in self.rings:
            _check_positive(f"window {self.name}", "bucket_s", bucket_s)
            if buckets < 1:
                raise ConfigurationError(f"window {self.name}.buckets must be >= 1, got {buckets}")
            ratio = bucket_s / self.base_s
            if abs(ratio - round(ratio)) > 1e-9:
                raise ConfigurationError(
                    f"window {self.name}: bucket {bucket_s} s is not a multiple of {self.base_s} s"
                )

    @property
    def base_s(self) -> float:
        """The shortest bucket; updates are compacted to buckets of this length."""
        return min(bucket_s for bucket_s, _ in self.rings)

    @property
    def factors(self) -> tuple[int, ...]:
        """Each ring's bucket length in base buckets."""
        return tuple(round(bucket_s / self.base_s) for bucket_s, _ in self.rings)

    @property
    def blob_size(self) -> int:
        """Bytes of one packed entity: per ring, the newest bucket then one float32 per bucket."""
        return sum(8 + 4 * buckets for _, buckets in self.rings)


@dataclass(frozen=True, slots=True)
class SnapshotSpec:
    """A batch-computed float32 vector per entity with the named columns."""

    name: str
    kind: str
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_name("snapshot", self.name, self.kind)
        if not self.columns or len(set(self.columns)) != len(self.columns):
            raise ConfigurationError(
                f"snapshot {self.name}.columns must be distinct and non-empty, got {self.columns}"
            )
