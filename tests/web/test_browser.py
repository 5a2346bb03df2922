"""The storefront in headless Chromium: the journey from Discovery to "Order again", for real.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``.ci/run``); Playwright drives it and
never downloads a browser. Without Chromium the tests skip, except in CI where they fail.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

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
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

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
    before = tab.venue_ids("#order-again")
    ranked = tab.venue_ids("#discovery")
    assert ranked, "Discovery showed no venue"
    venue_id = next(v for v in ranked if v not in before)
    tab.shot("discovery")

    page.locator(f"#discovery a.venue-link[data-entity='{venue_id}']").click()
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


def test_why_this_category_and_map(browser: object, ui_server: RunningServer) -> None:
    tab = Tab(browser, ui_server.base_url, viewport={"width": 1280, "height": 900})
    page = tab.page
    tab.goto(f"/ui?user={CUSTOMER}")
    why = page.locator("#discovery details.why").first
    why.locator("summary").focus()
    page.keyboard.press("Enter")  # keyboard-usable: the panel opens without a mouse
    assert why.get_attribute("open") is not None
    assert why.locator("th", has_text="distance_m").count() == 1

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
    table = tab.page.locator("#serving table.figures")
    assert table.locator("code", has_text="/ui").count() >= 1
    tab.page.fill("#admin-token", ADMIN_TOKEN)
    tab.shot("insights")
    assert phone.errors == []
    assert tab.errors == []
