"""``POST /v1/events`` over HTTP: per-event validation, limits, duplicates, unknown venues."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from palate.catalog.store import load_catalog
from tests.ingest.conftest import copy_city
from tests.ingest.samples import (
    add_to_cart,
    click,
    impression,
    metric,
    mixed,
    order,
    post,
    statuses,
)
from tests.servers import RunningServer, palate_server

pytestmark = pytest.mark.integration

MAX_BATCH = 100
MAX_BODY = 120_000
MISSING = object()


@pytest.fixture(scope="module")
def module_data(simulated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_city(simulated_dir, tmp_path_factory.mktemp("ingest-http") / "data")


@pytest.fixture(scope="module")
def server(module_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    env = {
        "PALATE_INGEST__MAX_BATCH": str(MAX_BATCH),
        "PALATE_INGEST__MAX_BODY_BYTES": str(MAX_BODY),
    }
    with palate_server(module_data, tmp_path_factory.mktemp("logs"), env=env) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


def _with(event: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A copy of ``event`` with ``path`` (dotted, list indexes as digits) set or removed."""
    copy = orjson.loads(orjson.dumps(event))
    *parents, last = path.split(".")
    target = copy
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key: Any = int(last) if last.isdigit() else last
    if value is MISSING:
        del target[key]
    else:
        target[key] = value
    return copy  # type: ignore[no-any-return]


# (event maker, field as the client wrote it, bad value)
BAD_FIELDS: list[tuple[Any, str, object]] = [
    (click, "ts", "2026-09-18T17:30:00"),  # no offset: must be timezone-aware
    (click, "ts", "yesterday"),
    (click, "ts", 1758205800),
    (click, "ts", MISSING),
    (click, "ts", "0001-01-01T00:00:00+05:00"),
    (click, "ts", "2999-01-01T00:00:00Z"),
    (click, "event_id", ""),
    (click, "event_id", 42),
    (click, "user_id", None),
    (click, "user_id", MISSING),
    (click, "type", "purchase"),
    (click, "type", MISSING),
    (click, "surprise", 1),
    (click, "entity_id", MISSING),
    (click, "premise", "nowhere"),
    (impression, "location.lat", 95.0),
    (impression, "location.lon", "24.9"),
    (impression, "location", "60.1,24.9"),
    (impression, "position", -1),
    (impression, "position", "3"),
    (impression, "premise", "homepage"),
    (impression, "entity_kind", "shop"),
    (impression, "request_id", MISSING),
    (impression, "section", 5),
    (add_to_cart, "quantity", 0),
    (add_to_cart, "quantity", 1.5),
    (add_to_cart, "item_id", MISSING),
    (add_to_cart, "venue_id", ""),
    (order, "total", -1.0),
    (order, "total", "21"),
    (order, "order_id", MISSING),
    (order, "lines", "two pizzas"),
    (order, "lines.0.quantity", 0),
    (order, "lines.0.unit_price", -5.0),
    (order, "lines.0.item_id", MISSING),
]


def _client_name(path: str) -> str:
    """``lines.0.quantity`` → ``lines[0].quantity``, as the reply names it."""
    name = ""
    for part in path.split("."):
        name += f"[{part}]" if part.isdigit() else (f".{part}" if name else part)
    return name


def test_each_bad_field_rejects_only_its_event_and_names_the_field(
    client: httpx.Client,
) -> None:
    events: list[Any] = []
    expected: dict[int, str] = {}
    for maker, path, value in BAD_FIELDS:
        events.append(maker())  # a valid neighbour of each bad event
        expected[len(events)] = f"events[{len(events)}].{_client_name(path)}"
        events.append(_with(maker(), path, value))
    expected[len(events)] = f"events[{len(events)}]"
    events.append(7)
    reply = post(client, events)
    assert reply["rejected"] == len(expected)
    assert reply["accepted"] == len(events) - len(expected)
    for i, result in enumerate(reply["results"]):
        if i not in expected:
            assert result["status"] == "accepted", (i, result)
            assert result["event_id"] == events[i]["event_id"]
            continue
        assert result["status"] == "rejected", (i, events[i], result)
        fields = [problem["field"] for problem in result["fields"]]
        assert expected[i] in fields, (expected[i], result)
        assert (
            result["reason"].startswith(f"{expected[i]}: ")
            or f"; {expected[i]}: " in (result["reason"])
        )


def test_naive_ts_reason_says_timezone(client: httpx.Client) -> None:
    reply = post(client, [click(ts="2026-09-18T17:30:00"), click()])
    assert statuses(reply) == ["rejected", "accepted"]
    assert reply["results"][0]["reason"] == "events[0].ts: Input should have timezone info"


def test_repeats_within_and_across_batches_are_duplicates(client: httpx.Client) -> None:
    first, second = click(), order()
    reply = post(client, [first, second, first, impression(), second])
    assert statuses(reply) == ["accepted", "accepted", "duplicate", "accepted", "duplicate"]
    assert (reply["accepted"], reply["duplicates"], reply["rejected"]) == (3, 2, 0)
    again = post(client, [second, add_to_cart(), first])
    assert statuses(again) == ["duplicate", "accepted", "duplicate"]
    # A rejected event does not claim its id: the corrected event is accepted.
    broken = click(ts="not a time")
    assert statuses(post(client, [broken])) == ["rejected"]
    fixed = {**broken, "ts": "2026-09-18T17:31:00Z"}
    assert statuses(post(client, [fixed])) == ["accepted"]


def test_concurrent_copies_of_one_batch_are_accepted_exactly_once(client: httpx.Client) -> None:
    events = mixed(80)
    replies: list[dict[str, Any]] = []

    def send() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=10.0) as own:
            replies.append(post(own, events))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(len(events)):
        outcomes = [reply["results"][i]["status"] for reply in replies]
        assert outcomes.count("accepted") == 1, outcomes
    # Copies racing the winner are duplicates, or rejected as in flight (safe to retry).
    retry = post(client, events)
    assert set(statuses(retry)) == {"duplicate"}


def test_too_many_events_is_413_naming_the_limit(client: httpx.Client) -> None:
    reply = client.post("/v1/events", json={"events": [click() for _ in range(MAX_BATCH + 1)]})
    assert reply.status_code == 413
    body = reply.json()
    assert body["fields"][0]["field"] == "events"
    assert str(MAX_BATCH) in body["error"]
    assert "ingest.max_batch" in body["error"]


# JSON posts are answered by the fast lane, others by the FastAPI route: both must hold.
PATHS = {"lane": {"content-type": "application/json"}, "framework": {}}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_oversize_body_is_413(client: httpx.Client, path: str) -> None:
    padded = click(section="x")
    body = orjson.dumps({"events": [padded] * 10, "padding": "x" * MAX_BODY})
    reply = client.post("/v1/events", content=body, headers=PATHS[path])
    assert reply.status_code == 413
    assert str(MAX_BODY) in reply.json()["error"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        yield body[: len(body) // 2]
        yield body[len(body) // 2 :]

    reply = client.post("/v1/events", content=chunked(), headers=PATHS[path])
    assert reply.status_code == 413


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("body", [b"{", b'{"events": [', b"not json", b""])
def test_malformed_json_is_400(client: httpx.Client, body: bytes, path: str) -> None:
    reply = client.post("/v1/events", content=body, headers=PATHS[path])
    assert reply.status_code == 400
    assert reply.json() == {"error": "malformed JSON body", "fields": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[]", "body"),
        (b'{"events": {}}', "events"),
        (b"{}", "events"),
        (b'{"events": [], "x": 1}', "x"),
    ],
)
def test_wrong_shape_is_422_naming_the_field(client: httpx.Client, body: bytes, field: str) -> None:
    reply = client.post("/v1/events", content=body)
    assert reply.status_code == 422
    assert reply.json()["fields"][0]["field"] == field


def test_empty_batch_is_fine(client: httpx.Client) -> None:
    assert post(client, []) == {"results": [], "accepted": 0, "duplicates": 0, "rejected": 0}


def test_unknown_venues_are_accepted_and_counted(client: httpx.Client, module_data: Path) -> None:
    known = sorted(load_catalog(module_data / "catalog").venues)[0]
    before = metric(client.get("/metrics").text, "palate_events_unknown_venue_total")
    events = [
        order(venue_id="no-such-venue"),
        impression(entity_id="nor-this-one"),  # a venue impression names its venue
        add_to_cart(venue_id=known),
        click(),  # an item click names no venue
        impression(entity_kind="item", entity_id="i-unknown"),
    ]
    reply = post(client, events, wait_applied=True)  # counted as they are applied
    assert reply["accepted"] == 5
    text = client.get("/metrics").text
    assert metric(text, "palate_events_unknown_venue_total") == before + 2
    assert metric(text, 'palate_events_total{status="accepted"}') >= 5


def test_stats_count_outcomes(client: httpx.Client) -> None:
    before = client.get("/v1/events/stats").json()
    post(client, [click(), click(ts="bad")], wait_applied=True)
    after = client.get("/v1/events/stats").json()
    assert after["mode"] == "memory"
    assert after["accepted"] == before["accepted"] + 1
    assert after["rejected"] == before["rejected"] + 1
    assert after["applied"] == before["applied"] + 1
