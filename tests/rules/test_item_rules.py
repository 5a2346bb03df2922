"""Business rules on the item premises: admin-API rules reach the venue page and the cart, and
stay in their own premise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from palate.catalog.store import load_catalog
from palate.domain.catalog import Catalog
from palate.serving.app import create_app
from palate.serving.state import build_state
from palate.settings import Settings
from tests.rules.test_http import InProcess

TOKEN = "item-rules-token"  # noqa: S105 - a test secret
AUTH = {"authorization": f"Bearer {TOKEN}"}
WHEN = "2026-09-18T17:30:00Z"


class Client(InProcess):
    """The in-process client, with the admin verbs."""

    def put(self, url: str, json: object) -> httpx.Response:
        return self._call("PUT", url, json=json, headers=AUTH)

    def delete(self, url: str) -> httpx.Response:
        return self._call("DELETE", url, headers=AUTH)


@pytest.fixture
def client(simulated_dir: Path, tmp_path: Path) -> Iterator[Client]:
    """A fresh app per test (rules stored under its own data dir)."""
    settings = Settings(admin_token=TOKEN, data={"dir": tmp_path})
    state = build_state(load_catalog(simulated_dir / "catalog"), settings, data_dir=tmp_path)
    return Client(create_app(settings, state))


@pytest.fixture(scope="module")
def catalog(simulated_dir: Path) -> Catalog:
    return load_catalog(simulated_dir / "catalog")


def _venue(catalog: Catalog, least_items: int = 12) -> str:
    """A venue with a long menu of several categories (deterministic choice)."""
    counts: dict[str, set[str]] = {}
    for item in catalog.items.values():
        counts.setdefault(item.venue_id, set()).add(item.category)
    sizes = {v: sum(i.venue_id == v for i in catalog.items.values()) for v in sorted(counts)}
    return next(v for v in sorted(counts) if sizes[v] >= least_items and len(counts[v]) >= 3)


def _menu(client: Client, venue_id: str, **extra: object) -> list[dict[str, Any]]:
    body = {"user_id": "rules-user", "time": WHEN, "limit": 50, **extra}
    reply = client.post(f"/v1/venues/{venue_id}/items", json=body)
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def _cart(client: Client, venue_id: str, lines: list[str], **extra: object) -> list[str]:
    body = {
        "user_id": "rules-user",
        "venue_id": venue_id,
        "lines": [{"item_id": i} for i in lines],
        "time": WHEN,
        "limit": 5,
        **extra,
    }
    reply = client.post("/v1/cart/recommendations", json=body)
    assert reply.status_code == 200, reply.text
    return [item["item_id"] for item in reply.json()["items"]]


def _put(client: Client, rule: dict[str, object]) -> None:
    reply = client.put("/v1/admin/rules", json=rule)
    assert reply.status_code == 200, reply.text


def test_an_item_pinned_through_the_admin_api_is_first_on_the_venue_page(
    client: Client, catalog: Catalog
) -> None:
    venue = _venue(catalog)
    before = [i["item_id"] for i in _menu(client, venue)]
    last = before[-1]
    _put(
        client,
        {"id": "pin-last", "kind": "pin", "premise": "venue_items", "target": last, "slot": 0},
    )
    after = [i["item_id"] for i in _menu(client, venue)]
    assert after[0] == last != before[0]
    assert sorted(after) == sorted(before)  # placed, nothing added or lost
    assert [i for i in after if i != last] == [i for i in before if i != last]
    # the same pin for Discovery leaves the menu alone
    assert client.delete("/v1/admin/rules/pin-last").status_code == 204
    _put(client, {"id": "pin-disc", "kind": "pin", "target": last, "slot": 0})
    assert [i["item_id"] for i in _menu(client, venue)] == before


def test_an_excluded_item_never_appears_in_the_cart(client: Client, catalog: Catalog) -> None:
    venue = _venue(catalog)
    menu = [i.id for i in catalog.items.values() if i.venue_id == venue]
    first = _cart(client, venue, [menu[0]])
    assert first, "the cart recommends something before the rule"
    _put(client, {"id": "no-top", "kind": "exclude", "premise": "cart", "targets": first})
    second = _cart(client, venue, [menu[0]])
    assert second
    assert not set(first) & set(second)
    for lines in ([], [menu[1]], menu[-2:]):  # whatever the cart holds
        assert not set(first) & set(_cart(client, venue, lines))
    # the venue page (another premise) still lists them
    assert set(first) <= {i["item_id"] for i in _menu(client, venue)}


@pytest.mark.parametrize("premise", ["discovery", "cart"])
def test_a_boost_for_another_premise_does_not_move_the_menu(
    client: Client, catalog: Catalog, premise: str
) -> None:
    venue = _venue(catalog)
    before = _menu(client, venue)
    last = before[-1]["item_id"]
    boost = {"kind": "boost", "targets": [last], "factor": 50.0}
    _put(client, {"id": "elsewhere", "premise": premise, **boost})
    assert _menu(client, venue) == before
    _put(client, {"id": "here", "premise": "venue_items", **boost})
    boosted = _menu(client, venue)
    assert boosted[0]["item_id"] == last
    assert boosted[0]["score"] > before[0]["score"]


def test_a_category_cap_on_the_menu_and_a_sponsored_item_marked(
    client: Client, catalog: Catalog
) -> None:
    venue = _venue(catalog)
    cap = {"kind": "diversity", "by": "cuisine", "max_per": 1, "top_n": 3}
    _put(client, {"id": "one-each", "premise": "venue_items", **cap})
    head = [i["category"] for i in _menu(client, venue)[:3]]
    assert len(set(head)) == 3
    last = _menu(client, venue)[-1]["item_id"]
    _put(
        client,
        {"id": "ad", "kind": "sponsored", "premise": "venue_items", "target": last, "slot": 0},
    )
    shown = _menu(client, venue)
    assert shown[0]["item_id"] == last
    assert shown[0]["sponsored"]
    assert not any(i["sponsored"] for i in shown[1:])


def test_an_unknown_premise_is_rejected(client: Client) -> None:
    rule = {"id": "typo", "kind": "pin", "premise": "venue-items", "target": "i1", "slot": 0}
    reply = client.put("/v1/admin/rules", json=rule)
    assert reply.status_code == 422
    assert "premise" in reply.text
