"""Validation of incoming JSON events, one at a time, and their conversion to Arrow.

Each event is validated on its own against a discriminated union (on ``type``) of
TypedDicts, so one bad event never rejects its batch, and every error names its field the
way the client wrote it (``events[3].ts``). ``ts`` must carry a UTC offset. Unknown fields
are errors (a typo must not silently drop data). Validated events become one Arrow table in
:data:`EVENT_SCHEMA`, built column by column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired

import pyarrow as pa
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import TypedDict

from palate.domain.events import EntityKind, EventType, Premise
from palate.events.schema import EVENT_SCHEMA

INT32_MAX = 2**31 - 1
_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=256)

Id = Annotated[str, Field(min_length=1, max_length=128)]
Latitude = Annotated[StrictFloat, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[StrictFloat, Field(ge=-180.0, le=180.0)]
Position = Annotated[StrictInt, Field(ge=0, le=INT32_MAX)]
Quantity = Annotated[StrictInt, Field(ge=1, le=INT32_MAX)]
Money = Annotated[StrictFloat, Field(ge=0.0)]


def _iso_text(value: object) -> object:
    # JSON numbers would be read as Unix times; the API asks for ISO 8601 with an offset.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 string with a UTC offset")
    return value


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _plausible(value: datetime) -> datetime:
    # The event log partitions by UTC day; keep far-off years out of it.
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year}")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_plausible)]


class LocationIn(TypedDict):
    """Where the customer was (WGS84 degrees)."""

    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    lat: Latitude
    lon: Longitude


class _Base(TypedDict):
    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    event_id: Id
    user_id: Id
    ts: Timestamp
    location: NotRequired[LocationIn | None]


class ImpressionIn(_Base):
    """An entity shown at ``position`` of the ranking ``request_id`` answered."""

    type: Literal["impression"]
    request_id: Id
    premise: Premise
    entity_kind: EntityKind
    entity_id: Id
    position: Position
    section: NotRequired[str | None]


class ClickIn(_Base):
    """A tap on a shown entity (``section``: where on the page it was, e.g. ``order_again``)."""

    type: Literal["click"]
    entity_kind: EntityKind
    entity_id: Id
    section: NotRequired[str | None]
    request_id: NotRequired[Id | None]
    premise: NotRequired[Premise | None]


class AddToCartIn(_Base):
    """An item put into the basket (``quantity`` defaults to 1)."""

    type: Literal["add_to_cart"]
    venue_id: Id
    item_id: Id
    quantity: NotRequired[Quantity]
    request_id: NotRequired[Id | None]


class OrderLineIn(TypedDict):
    """One line of an order."""

    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    item_id: Id
    quantity: Quantity
    unit_price: Money


class OrderIn(_Base):
    """A placed order from one venue."""

    type: Literal["order"]
    order_id: Id
    venue_id: Id
    total: Money
    lines: NotRequired[list[OrderLineIn]]
    request_id: NotRequired[Id | None]


IncomingEvent = Annotated[
    ImpressionIn | ClickIn | AddToCartIn | OrderIn, Field(discriminator="type")
]
EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(IncomingEvent)
_TAGS = frozenset(EventType)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of one event."""

    field: str
    message: str


@dataclass(slots=True)
class CheckedEvents:
    """The outcome of validating a batch: valid rows with their positions, and rejections."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    errors: dict[int, list[FieldError]] = field(default_factory=dict)


def check_events(raw: Sequence[object], path: str = "events") -> CheckedEvents:
    """Validate every event on its own; errors name fields as ``<path>[i].<field>``.

    >>> ok = {"type": "click", "event_id": "e1", "user_id": "u1",
    ...       "ts": "2026-09-18T17:30:00+02:00", "entity_kind": "venue", "entity_id": "v1"}
    >>> checked = check_events([ok, {**ok, "ts": "2026-09-18T17:30:00"}])
    >>> checked.positions, checked.errors[1][0].field
    ([0], 'events[1].ts')
    """
    checked = CheckedEvents()
    validate = EVENT_ADAPTER.validate_python
    for i, event in enumerate(raw):
        try:
            checked.rows.append(validate(event))
        except ValidationError as error:
            checked.errors[i] = _field_errors(error, f"{path}[{i}]")
        else:
            checked.positions.append(i)
    return checked


def _field_errors(error: ValidationError, prefix: str) -> list[FieldError]:
    found = []
    for detail in error.errors(include_url=False, include_context=False, include_input=False):
        location = list(detail["loc"])
        # A discriminated union reports the matched tag first; the client never wrote it.
        if location and location[0] in _TAGS:
            location = location[1:]
        if detail["type"].startswith("union_tag"):
            location = ["type"]
        found.append(FieldError(_join(prefix, location), str(detail["msg"])))
    return found


def _join(prefix: str, location: list[int | str]) -> str:
    """``events[3]`` + ``["lines", 0, "quantity"]`` → ``events[3].lines[0].quantity``."""
    name = prefix
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name


_DIRECT = (
    "event_id",
    "type",
    "user_id",
    "request_id",
    "premise",
    "section",
    "position",
    "entity_kind",
    "entity_id",
    "item_id",
    "order_id",
    "total",
    "lines",
)


def _venue_id(row: dict[str, Any]) -> Any:
    # The schema repeats a venue entity in venue_id so venue joins never look at the kind.
    return row["entity_id"] if row.get("entity_kind") == EntityKind.VENUE else row.get("venue_id")


def _quantity(row: dict[str, Any]) -> Any:
    quantity = row.get("quantity")
    return 1 if quantity is None and row["type"] == EventType.ADD_TO_CART else quantity


def rows_to_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Validated events as a table in :data:`EVENT_SCHEMA`, in the given order.

    Derived columns are filled per row rather than with Arrow kernels: a kernel call costs
    more than a thousand rows of Python, and most batches are one event.
    """
    arrays: dict[str, pa.Array] = {
        name: pa.array([row.get(name) for row in rows], EVENT_SCHEMA.field(name).type)
        for name in _DIRECT
    }
    ts: list[datetime] = [row["ts"] for row in rows]
    arrays["ts"] = pa.array(ts, EVENT_SCHEMA.field("ts").type)
    locations = [row.get("location") for row in rows]
    arrays["lat"] = pa.array([None if at is None else at["lat"] for at in locations], pa.float64())
    arrays["lon"] = pa.array([None if at is None else at["lon"] for at in locations], pa.float64())
    arrays["venue_id"] = pa.array([_venue_id(row) for row in rows], pa.string())
    arrays["quantity"] = pa.array([_quantity(row) for row in rows], pa.int32())
    return pa.Table.from_arrays([arrays[name] for name in EVENT_SCHEMA.names], schema=EVENT_SCHEMA)
