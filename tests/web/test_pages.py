"""The UI pages over a real server: they render, stay fast, and report the server's own figures."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from prometheus_client import CollectorRegistry, Histogram

from palate.domain.catalog import Catalog
from palate.domain.geo import Location
from palate.domain.market import City
from palate.serving.web.insights import endpoint_figures
from palate.serving.web.templating import to_json
from palate.serving.web.views import MAP_HEIGHT, MAP_WIDTH, city_map
from tests.servers import RunningServer

PAGE_BUDGET_S = 0.2
PAGES = (
    "/ui?user=u7&hour=12",
    "/ui/categories/pizza?user=u7&hour=19",
    "/ui/insights",
)


def venue_page(client: httpx.Client) -> str:
    """The first venue Discovery links to."""
    html = client.get("/ui?user=u7&hour=19").text
    start = html.index("/ui/venues/")
    return html[start : html.index('"', start)].replace("&amp;", "&")


def test_each_page_renders_well_under_budget(ui_server: RunningServer) -> None:
    with ui_server.client() as client:
        for path in (*PAGES, venue_page(client)):
            client.get(path)  # first render compiles the template
            times = []
            for _ in range(5):
                started = time.perf_counter()
                reply = client.get(path)
                times.append(time.perf_counter() - started)
                assert reply.status_code == 200, path
                assert reply.headers["content-type"].startswith("text/html")
            assert statistics.median(times) < PAGE_BUDGET_S, (path, times)


def test_unknown_venue_and_category_are_404(ui_server: RunningServer) -> None:
    with ui_server.client() as client:
        assert client.get("/ui/venues/no-such-venue").status_code == 404
        assert client.get("/ui/categories/no-such-category").status_code == 404


def test_bad_context_falls_back_to_defaults(ui_server: RunningServer) -> None:
    with ui_server.client() as client:
        reply = client.get("/ui?lat=nan&lon=999&hour=77&user=")
        assert reply.status_code == 200
        assert 'value="19" selected' in reply.text


def test_page_id_is_the_ranking_request_id(ui_server: RunningServer) -> None:
    with ui_server.client() as client:
        reply = client.get("/ui?user=u7")
        assert f'data-request-id="{reply.headers["x-request-id"]}"' in reply.text


def test_quantiles_follow_the_histogram() -> None:
    registry = CollectorRegistry()
    hist = Histogram(
        "palate_request_duration_seconds",
        "t",
        ["endpoint", "method", "status"],
        buckets=(0.01, 0.02, 0.05, 0.1),
        registry=registry,
    )
    for _ in range(98):
        hist.labels("/a", "GET", "200").observe(0.005)
    hist.labels("/a", "GET", "500").observe(0.04)
    hist.labels("/a", "POST", "200").observe(0.09)
    hist.labels("/b", "GET", "200").observe(0.015)
    figures = {f.endpoint: f for f in endpoint_figures(registry)}
    a = figures["/a"]
    assert (a.count, a.errors) == (100, 1)
    assert a.quantile(0.5) == pytest.approx(0.01 * 50 / 98)
    assert 0.02 < a.quantile(0.99) <= 0.05  # the 99th observation is the 0.04 one
    assert 0.01 <= figures["/b"].quantile(0.99) <= 0.02


def test_city_map_keeps_venues_on_the_canvas(simulated_catalog: Catalog) -> None:
    city = next(iter(simulated_catalog.cities.values()))
    chart = city_map(simulated_catalog, city)
    assert len(chart.dots) == sum(v.city_id == city.id for v in simulated_catalog.venues.values())
    assert all(0 <= x <= MAP_WIDTH and 0 <= y <= MAP_HEIGHT for x, y in chart.dots)
    centre = city.center
    assert chart.project(centre.lat, chart.min_lon)[0] < chart.project(centre.lat, chart.max_lon)[0]
    assert chart.project(chart.max_lat, centre.lon)[1] < chart.project(chart.min_lat, centre.lon)[1]


def test_city_map_without_venues_is_centred() -> None:
    city = City("c", "Nowhere", "m", Location(60.0, 25.0))
    chart = city_map(Catalog(cities={"c": city}), city)
    x, y = chart.project(60.0, 25.0)
    assert x == pytest.approx(MAP_WIDTH / 2, abs=1)
    assert y == pytest.approx(MAP_HEIGHT / 2, abs=1)


def test_json_in_a_script_cannot_close_it() -> None:
    assert "</script>" not in to_json({"name": "</script><script>alert(1)</script>"})
