"""The storefront in headless Chromium: the journey from Discovery to "Order again", for real.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``.ci/run``); Playwright drives it and
never downloads a browser. Without Chromium the tests skip, except in CI where they fail.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import RunningServer
from tests.web.conftest import ADMIN_TOKEN

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path(os.environ.get("PALATE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CUSTOMER = "u5"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium for the module."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Tab:
    """A page that records console errors and uncaught exceptions, and takes screenshots."""

    def __init__(self, browser: object, base_url: str, **options: object) -> None:
        self.page = browser.new_page(**options)  # type: ignore[attr-defined]
        self.base_url = base_url
        self.errors: list[str] = []
        self.sent: list[dict[str, Any]] = []  # every event the page posted to /v1/events
        self.page.on("request", self._request)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _request(self, request: object) -> None:
        if request.url.endswith("/v1/events") and request.post_data:  # type: ignore[attr-defined]
            self.sent.extend(json.loads(request.post_data)["events"])  # type: ignore[attr-defined]

    def _console(self, message: object) -> None:
        if message.type == "error":  # type: ignore[attr-defined]
            self.errors.append(f"console: {message.text}")  # type: ignore[attr-defined]

    def goto(self, path: str) -> None:
        response = self.page.goto(self.base_url + path)
        assert response is not None
        assert response.status == 200, path

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def venue_ids(self, selector: str) -> list[str]:
        ids: list[str] = self.page.eval_on_selector_all(
            f"{selector} [data-kind=venue][data-impression]",
            "els => els.map(e => e.dataset.entity)",
        )
        return ids


def order_two_items(tab: Tab) -> None:
    """On a venue page: add the first two ranked items, see cross-sell, place the order."""
    page = tab.page
    buttons = page.locator("button.add[data-item-id]")
    buttons.nth(0).click()
    buttons.nth(1).click()
    page.wait_for_function("document.querySelectorAll('#cart-lines li').length >= 2")
    page.wait_for_selector("#cross-sell:not([hidden]) #cross-sell-items li")
    page.wait_for_function("!document.querySelector('#place-order').disabled")
    page.click("#place-order")
    page.wait_for_selector("#order-status:has-text('Order placed')")


def test_order_twice_then_order_again(browser: object, ui_server: RunningServer) -> None:
    tab = Tab(browser, ui_server.base_url, viewport={"width": 1280, "height": 900})
    page = tab.page
    tab.goto("/ui")
    page.fill("#user-input", CUSTOMER)
    page.select_option("#hour-select", "19")
    with page.expect_navigation():
        page.click("#context-form button[type=submit]")
    assert f"user={CUSTOMER}" in page.url
    names = page.eval_on_selector_all(
        "#discovery [data-section-name]", "els => els.map(e => e.dataset.sectionName)"
    )
    assert "for_you" in names
    before = tab.venue_ids("#order-again")
    ranked = tab.venue_ids("#discovery")
    assert ranked, "Discovery showed no venue"
    venue_id = next(v for v in ranked if v not in before)
    card = page.locator(f"#discovery li[data-entity='{venue_id}']")
    section = card.get_attribute("data-section")
    page.wait_for_load_state("networkidle")
    request_id = page.get_attribute("body", "data-request-id")
    impressions = {
        e["section"]
        for e in tab.sent
        if e["type"] == "impression" and e["request_id"] == request_id
    }
    assert impressions == set(names)  # one impression section per shown carousel, by name
    tab.shot("discovery")

    card.locator("a.venue-link").click()
    page.wait_for_selector(f"#venue[data-venue-id='{venue_id}']")
    venue_url = page.url
    order_two_items(tab)
    tab.shot("venue-cart")
    page.goto(venue_url)
    order_two_items(tab)

    page.click("text=← Back to Discover")
    page.wait_for_selector("#discovery")
    assert venue_id in tab.venue_ids("#order-again")
    tab.shot("discovery-order-again")
    assert tab.errors == []
    clicks = [e for e in tab.sent if e["type"] == "click" and e["entity_id"] == venue_id]
    assert [c.get("section") for c in clicks] == [section]  # the carousel it was clicked in


def assert_same_explanation(tab: Tab, why: Any, server: RunningServer) -> None:
    """The open panel shows what ``POST /v1/discovery`` with ``"explain": true`` says of the
    venue: the scorer, its largest contributions (by absolute value, signed) and the rules."""
    shown = [
        (row.locator("th").inner_text(), float(row.locator("td").inner_text()))
        for row in why.locator("table.contributions tbody tr").all()
    ]
    assert shown, "no contribution shown"
    assert [abs(v) for _, v in shown] == sorted((abs(v) for _, v in shown), reverse=True)
    venue_id = why.locator("xpath=..").get_attribute("data-entity")
    body = tab.page.evaluate(
        "({user: document.body.dataset.user, when: document.body.dataset.when,"
        " lat: Number(document.body.dataset.lat), lon: Number(document.body.dataset.lon)})"
    )
    with server.client() as client:
        reply = client.post(
            "/v1/discovery",
            json={
                "user_id": body["user"],
                "location": {"lat": body["lat"], "lon": body["lon"]},
                "time": body["when"],
                "limit": 200,
                "explain": True,
            },
        ).json()
    venue = next(v for v in reply["venues"] if v["venue_id"] == venue_id)
    explanation = venue["explanation"]
    assert why.locator(".scorer").inner_text() == explanation["scorer"]
    for name, value in shown:
        assert explanation["contributions"][name] == pytest.approx(value, abs=1e-4)
    rules = why.locator(".rules code").all_inner_texts()
    assert rules == explanation["rules"]


def test_why_this_category_and_map(browser: object, ui_server: RunningServer) -> None:
    tab = Tab(browser, ui_server.base_url, viewport={"width": 1280, "height": 900})
    page = tab.page
    tab.goto(f"/ui?user={CUSTOMER}")
    why = page.locator("#discovery details.why").first
    why.locator("> summary").focus()
    page.keyboard.press("Enter")  # keyboard-usable: the panel opens without a mouse
    assert why.get_attribute("open") is not None
    assert_same_explanation(tab, why, ui_server)

    page.locator("a.tile[href^='/ui/categories/pizza']").click()
    page.wait_for_selector("#category")
    assert tab.venue_ids("#category"), "no pizza venue delivers at 19:00"
    assert re.search(r"/ui/categories/[^?]+\?user=" + CUSTOMER, page.url)
    tab.shot("category")

    old_lat = page.input_value("#lat-input")
    with page.expect_navigation():
        page.locator("#city-map").click(position={"x": 40, "y": 40})
    assert page.input_value("#lat-input") != old_lat
    assert f"lat={page.input_value('#lat-input')}" in page.url
    assert tab.errors == []


def test_phone_layout_and_insights(browser: object, ui_server: RunningServer) -> None:
    phone = Tab(browser, ui_server.base_url, viewport={"width": 390, "height": 844})
    phone.goto(f"/ui?user={CUSTOMER}")
    overflow = phone.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "the page scrolls sideways on a phone"
    phone.shot("discovery-phone")

    tab = Tab(browser, ui_server.base_url, viewport={"width": 1280, "height": 900})
    tab.goto("/ui/insights")
    report = tab.page.locator("#evaluation article[data-report='venue_ranking.md']")
    methods = report.locator("table.report-table").first.locator("tbody th").all_inner_texts()
    assert {"popularity", "distance", "heuristic", "learned"} <= set(methods)
    chart = report.locator("img.chart")
    chart.scroll_into_view_if_needed()
    tab.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=chart.element_handle()
    )
    table = tab.page.locator("#serving table.figures")
    assert table.locator("code", has_text="/ui").count() >= 1
    tab.page.fill("#admin-token", ADMIN_TOKEN)
    tab.shot("insights")
    assert phone.errors == []
    assert tab.errors == []
