"""The premises over HTTP on a real server: what must never be shown, and what must move."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from palate.domain.catalog import Catalog
from tests.premises.conftest import TOKEN, WHEN
from tests.servers import RunningServer

pytestmark = pytest.mark.e2e
ADMIN = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(premises_server: RunningServer) -> Any:
    with premises_server.client() as http:
        yield http


def _within(seconds: float, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not visible in time"
        time.sleep(0.02)


def _items(client: httpx.Client, venue_id: str, user_id: str = "anon") -> dict[str, Any]:
    body = {"user_id": user_id, "time": WHEN, "limit": 500}
    reply = client.post(f"/v1/venues/{venue_id}/items", json=body)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _cart(client: httpx.Client, user_id: str, venue_id: str, lines: list[str]) -> list[str]:
    body = {
        "user_id": user_id,
        "venue_id": venue_id,
        "lines": [{"item_id": i, "quantity": 1} for i in lines],
        "time": WHEN,
        "limit": 5,
    }
    reply = client.post("/v1/cart/recommendations", json=body)
    assert reply.status_code == 200, reply.text
    return [item["item_id"] for item in reply.json()["items"]]


def _orders(user_id: str, venue_id: str, lines: list[list[str]], catalog: Catalog) -> list[Any]:
    return [
        {
            "type": "order",
            "event_id": f"{user_id}-e{n}",
            "user_id": user_id,
            "ts": f"2026-09-18T{10 + n:02d}:00:00Z",
            "order_id": f"{user_id}-o{n}",
            "venue_id": venue_id,
            "lines": [
                {"item_id": i, "quantity": 1, "unit_price": catalog.items[i].price} for i in ids
            ],
            "total": sum(catalog.items[i].price for i in ids),
        }
        for n, ids in enumerate(lines)
    ]


def _pizza_venues(catalog: Catalog) -> list[str]:
    return sorted(
        (v.id for v in catalog.venues.values() if "pizza" in v.cuisines),
        key=lambda v: int(v[1:]),
    )


def test_category_page_only_lists_the_category_and_drops_a_paused_venue(
    client: httpx.Client, catalog: Catalog
) -> None:
    centre = next(iter(catalog.cities.values())).center
    body = {"user_id": "cat-user", "location": {"lat": centre.lat, "lon": centre.lon}}
    body |= {"time": WHEN, "limit": 500, "category": "pizza"}

    def listed() -> list[str]:
        reply = client.post("/v1/category", json=body)
        assert reply.status_code == 200, reply.text
        assert reply.json()["category"] == "c0"
        return [v["venue_id"] for v in reply.json()["venues"]]

    venues = listed()
    assert venues
    assert all("c0" in catalog.venues[v].categories for v in venues)
    paused = venues[0]
    patch = client.patch(f"/v1/catalog/venues/{paused}", json={"status": "paused"}, headers=ADMIN)
    assert patch.status_code == 200
    _within(1.0, lambda: paused not in listed())
    unknown = client.post("/v1/category", json={**body, "category": "no-such-category"})
    assert unknown.status_code == 422
    assert unknown.json()["fields"][0]["field"] == "category"


def test_a_sold_out_item_leaves_the_menu_and_the_cart(
    client: httpx.Client, catalog: Catalog
) -> None:
    venue_id = _pizza_venues(catalog)[1]
    menu = _items(client, venue_id)
    shown = [i["item_id"] for i in menu["items"]]
    assert {catalog.items[i].venue_id for i in shown} == {venue_id}
    for section in menu["sections"]:
        assert set(section["item_ids"]) <= set(shown)
    anchor = shown[0]
    cart = _cart(client, "sold-user", venue_id, [anchor])
    gone = cart[0]
    patch = client.patch(f"/v1/catalog/items/{gone}", json={"available": False}, headers=ADMIN)
    assert patch.status_code == 200
    _within(1.0, lambda: gone not in _cart(client, "sold-user", venue_id, [anchor]))
    menu = _items(client, venue_id)
    assert gone not in [i["item_id"] for i in menu["items"]]
    assert all(gone not in s["item_ids"] for s in menu["sections"])


def test_the_cart_stays_in_its_venue_and_refuses_lines_of_another(
    client: httpx.Client, catalog: Catalog
) -> None:
    here, there = _pizza_venues(catalog)[2:4]
    mine = [i.id for i in catalog.items.values() if i.venue_id == here][:2]
    theirs = next(i.id for i in catalog.items.values() if i.venue_id == there)
    recommended = _cart(client, "stay-user", here, mine)
    assert recommended
    assert {catalog.items[i].venue_id for i in recommended} == {here}
    assert not set(recommended) & set(mine)
    body = {"user_id": "stay-user", "venue_id": here, "time": WHEN}
    body["lines"] = [{"item_id": mine[0]}, {"item_id": theirs}]
    reply = client.post("/v1/cart/recommendations", json=body)
    assert reply.status_code == 422
    assert reply.json()["fields"][0]["field"] == "lines[1].item_id"
    missing = client.post("/v1/venues/no-such-venue/items", json={"user_id": "u"})
    assert missing.status_code == 404


def test_a_drink_with_every_pizza_puts_that_drink_first_in_the_cart(
    client: httpx.Client, catalog: Catalog
) -> None:
    venue_id = _pizza_venues(catalog)[4]
    menu = [i for i in catalog.items.values() if i.venue_id == venue_id]
    pizza = next(i.id for i in menu if i.category == "mains")
    drinks = [i.id for i in menu if i.category == "drinks" and "alcohol" not in i.tags]
    before = _cart(client, "drink-user", venue_id, [pizza])
    # The drink a customer without this habit is least likely to be offered first.
    drink = next((d for d in reversed(drinks) if d not in before[:1]), drinks[-1])
    events = _orders("drink-user", venue_id, [[pizza, drink]] * 4, catalog)
    assert client.post("/v1/events", json={"events": events}).json()["accepted"] == 4
    _within(2.0, lambda: _cart(client, "drink-user", venue_id, [pizza])[:1] == [drink])
    assert catalog.items[drink].category == "drinks"


def test_a_vegetarian_leaning_customer_sees_vegetarian_items_higher(
    client: httpx.Client, catalog: Catalog
) -> None:
    elsewhere, venue_id = _pizza_venues(catalog)[5:7]
    veg_elsewhere = [
        i.id for i in catalog.items.values() if i.venue_id == elsewhere and "vegetarian" in i.tags
    ]
    events = _orders("veg-user", elsewhere, [veg_elsewhere[:2]] * 5, catalog)
    assert client.post("/v1/events", json={"events": events}).json()["accepted"] == 5

    def veg_rank(user_id: str) -> float:
        ranked = [i["item_id"] for i in _items(client, venue_id, user_id)["items"]]
        veg = [n for n, i in enumerate(ranked) if "vegetarian" in catalog.items[i].tags]
        assert veg
        assert len(veg) < len(ranked)
        return sum(veg) / len(veg)

    _within(2.0, lambda: veg_rank("veg-user") < veg_rank("no-history-user"))


def test_every_premise_is_documented_with_examples(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/category", "/v1/venues/{venue_id}/items", "/v1/cart/recommendations"):
        content = paths[path]["post"]["requestBody"]["content"]["application/json"]
        assert content["examples"], path
        assert "422" in paths[path]["post"]["responses"]
