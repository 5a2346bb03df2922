"""The evaluation reports on the insights page: Markdown parsing, the chart route's safety."""

from __future__ import annotations

from pathlib import Path

import pytest

from palate.catalog.store import load_catalog
from palate.serving.app import create_app
from palate.serving.state import build_state
from palate.serving.web.reports import chart_path, latest_reports, parse_markdown
from palate.settings import Settings
from tests.web.test_models_api import InProcess

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
BASKET_REPORT = """### Next basket: events

1 random 72/8/20 user split (seeds 0); 90 users.

| method | recall@10 | ndcg@10 |
|---|---:|---:|
| top_personal | 0.4100 | 0.3800 |
| tifu_knn | 0.4300 | 0.3900 |

*Settings: `k=10`.*
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder with a next-basket report (in a subfolder) and its chart."""
    reports = tmp_path / "data" / "reports" / "next_basket"
    reports.mkdir(parents=True)
    (reports / "next_basket_events.md").write_text(BASKET_REPORT, encoding="utf-8")
    (reports / "next_basket_events.png").write_bytes(PNG)
    (tmp_path / "secret.png").write_bytes(PNG)
    return tmp_path / "data"


@pytest.fixture
def client(simulated_dir: Path, data_dir: Path) -> InProcess:
    """The app over ``data_dir`` (the catalog comes from the simulated city)."""
    settings = Settings(data={"dir": data_dir})
    return InProcess(
        create_app(settings, build_state(load_catalog(simulated_dir / "catalog"), settings))
    )


def test_markdown_tables_become_rows() -> None:
    blocks = parse_markdown(BASKET_REPORT)
    assert [b.kind for b in blocks] == ["heading", "paragraph", "table", "paragraph"]
    table = blocks[2]
    assert table.header == ("method", "recall@10", "ndcg@10")
    assert [row[0] for row in table.rows] == ["top_personal", "tifu_knn"]
    assert blocks[3].spans == ("Settings: ", "k=10", ".")


def test_reports_are_found_with_their_chart(data_dir: Path) -> None:
    (report,) = latest_reports(data_dir)
    assert report.title == "Next basket: events"
    assert report.chart == "next_basket/next_basket_events.png"
    assert chart_path(data_dir, report.chart) == (data_dir / "reports" / report.chart).resolve()


@pytest.mark.parametrize(
    "name",
    [
        "../secret.png",
        "next_basket/../../secret.png",
        "next_basket/next_basket_events.md",
        "/etc/passwd",
        "a/b/c.png",
        "missing.png",
        "next_basket/./next_basket_events.png",
        "next_basket\\next_basket_events.png",
        "",
    ],
)
def test_only_pngs_inside_the_reports_folder_are_charts(data_dir: Path, name: str) -> None:
    assert chart_path(data_dir, name) is None


@pytest.mark.parametrize(
    "path", ["%2E%2E/secret.png", "next_basket/%2e%2e/%2e%2e/secret.png", "..%2Fsecret.png"]
)
def test_chart_route_refuses_encoded_traversal(client: InProcess, path: str) -> None:
    assert client.get(f"/ui/reports/{path}").status_code == 404


def test_chart_route_serves_the_chart_and_no_escaping_symlink(
    client: InProcess, data_dir: Path
) -> None:
    served = client.get("/ui/reports/next_basket/next_basket_events.png")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content == PNG
    link = data_dir / "reports" / "escape.png"
    link.symlink_to(data_dir.parent / "secret.png")
    assert client.get("/ui/reports/escape.png").status_code == 404


def test_insights_show_the_report_as_a_table(client: InProcess) -> None:
    page = client.get("/ui/insights").text
    assert '<th scope="row">tifu_knn</th><td>0.4300</td>' in page
    assert 'src="/ui/reports/next_basket/next_basket_events.png"' in page


def test_without_a_report_the_page_says_how_to_make_one(
    simulated_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(data={"dir": tmp_path})
    app = create_app(settings, build_state(load_catalog(simulated_dir / "catalog"), settings))
    page = InProcess(app).get("/ui/insights").text
    assert f"<code>palate evaluate --data {tmp_path}</code>" in page
    assert 'id="evaluation"' in page
    assert "<article" not in page
