"""JSON events as a client sends them, and small helpers for the ingest tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson

from palate.events.log import EventLog

TS = "2026-09-18T17:30:00+03:00"


def impression(event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "type": "impression",
        "event_id": event_id or uuid.uuid4().hex,
        "user_id": "u1",
        "ts": TS,
        "location": {"lat": 60.17, "lon": 24.94},
        "request_id": "r1",
        "premise": "discovery",
        "entity_kind": "venue",
        "entity_id": "v1",
        "position": 3,
        "section": "top",
        **fields,
    }


def click(event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "type": "click",
        "event_id": event_id or uuid.uuid4().hex,
        "user_id": "u1",
        "ts": TS,
        "entity_kind": "item",
        "entity_id": "i1",
        **fields,
    }


def add_to_cart(event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "type": "add_to_cart",
        "event_id": event_id or uuid.uuid4().hex,
        "user_id": "u2",
        "ts": TS,
        "venue_id": "v1",
        "item_id": "i1",
        "quantity": 2,
        **fields,
    }


def order(event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "type": "order",
        "event_id": event_id or uuid.uuid4().hex,
        "user_id": "u3",
        "ts": TS,
        "order_id": uuid.uuid4().hex,
        "venue_id": "v1",
        "total": 21.0,
        "lines": [{"item_id": "i1", "quantity": 2, "unit_price": 10.5}],
        **fields,
    }


def mixed(count: int, prefix: str = "") -> list[dict[str, Any]]:
    """``count`` valid events cycling through the four types, with unique ids."""
    makers = (impression, click, add_to_cart, order)
    return [makers[i % 4](f"{prefix}{uuid.uuid4().hex}") for i in range(count)]


def post(
    client: httpx.Client, events: list[dict[str, Any]], wait_applied: bool = False
) -> dict[str, Any]:
    """``wait_applied``: reply only once the features have the events, whatever the settings."""
    path = "/v1/events?wait_applied=true" if wait_applied else "/v1/events"
    reply = client.post(path, content=orjson.dumps({"events": events}))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def statuses(reply: dict[str, Any]) -> list[str]:
    return [result["status"] for result in reply["results"]]


def logged_ids(root: Any) -> list[str]:
    """Every event id in the event log under ``root``, repeats included."""
    ids: list[str] = EventLog(root).read(columns=["event_id"]).column("event_id").to_pylist()
    return ids


def metric(text: str, sample: str) -> float:
    """The value of one sample of the Prometheus exposition, e.g. ``name{label="x"}``."""
    for line in text.splitlines():
        if not line.startswith("#") and line.rsplit(" ", 1)[0] == sample:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
