"""The offline evaluation reports under ``<data.dir>/reports``, read for the insights page.

Reports are the Markdown files ``palate evaluate`` and ``palate evaluate-baskets`` write; they
are parsed here into headings, paragraphs and tables (no Markdown dependency), and the PNG
chart written beside each is served by :func:`report_chart`, which refuses anything that is not
a PNG inside the reports folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from palate.serving.dependencies import SettingsDep

router = APIRouter(include_in_schema=False)
REPORTS_DIR = "reports"
VENUE_REPORT = "venue_ranking.md"
VENUE_CHART = "venue_ranking_ndcg10.png"
BASKET_GLOB = "next_basket_*.md"
CHART_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.png$")


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of a report: a heading, a paragraph or a table.

    ``spans`` alternate plain text and inline code (odd positions are code).
    """

    kind: str
    spans: tuple[str, ...] = ()
    level: int = 0
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    """A parsed report file, its chart (relative to the reports folder) and when it was written."""

    path: str
    title: str
    written: datetime
    chart: str | None
    blocks: list[Block] = field(default_factory=list)


def spans(text: str) -> tuple[str, ...]:
    """Text split at backticks: even positions are text, odd ones inline code.

    >>> spans("Reproduce: `palate evaluate`.")
    ('Reproduce: ', 'palate evaluate', '.')
    """
    return tuple(text.replace("**", "").replace("*", "").split("`"))


def table_cells(line: str) -> tuple[str, ...]:
    """The cells of one Markdown table row.

    >>> table_cells("| a | b `c` |")
    ('a', 'b `c`')
    """
    return tuple(cell.strip() for cell in line.strip().strip("|").split("|"))


def is_rule(line: str) -> bool:
    """Whether a table line is the ``|---|:--:|`` separator under the header.

    >>> is_rule("|---|:---:|"), is_rule("| a |")
    (True, False)
    """
    return bool(re.fullmatch(r"\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*", line.strip()))


def _table(lines: list[str]) -> Block:
    rows = [table_cells(line) for line in lines if not is_rule(line)]
    return Block("table", header=rows[0], rows=tuple(rows[1:]))


def parse_markdown(text: str) -> list[Block]:
    """Headings, paragraphs (consecutive lines joined) and tables, in order.

    >>> [b.kind for b in parse_markdown("# T\\n\\nSome\\ntext\\n\\n| a |\\n|---|\\n| 1 |\\n")]
    ['heading', 'paragraph', 'table']
    """
    blocks: list[Block] = []
    pending: list[str] = []
    for line in [*text.splitlines(), ""]:
        kind = "table" if line.lstrip().startswith("|") else "text" if line.strip() else ""
        if pending and (not kind or pending[0].lstrip().startswith("|") != (kind == "table")):
            blocks.append(_flush(pending))
            pending = []
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            blocks.append(Block("heading", spans(heading.group(2)), level=len(heading.group(1))))
        elif kind:
            pending.append(line)
    return blocks


def _flush(lines: list[str]) -> Block:
    if lines[0].lstrip().startswith("|"):
        return _table(lines)
    return Block("paragraph", spans(" ".join(line.strip() for line in lines)))


def read_report(folder: Path, report: Path) -> Report:
    """One report file parsed; its chart is the PNG of the same stem (or the venue chart)."""
    blocks = parse_markdown(report.read_text(encoding="utf-8", errors="replace"))
    first = next((i for i, b in enumerate(blocks) if b.kind == "heading"), None)
    title = report.stem if first is None else "".join(blocks.pop(first).spans)
    chart_file = report.with_name(VENUE_CHART if report.name == VENUE_REPORT else report.stem)
    chart_file = chart_file.with_suffix(".png")
    written = datetime.fromtimestamp(report.stat().st_mtime, UTC)
    chart = chart_file.relative_to(folder).as_posix() if chart_file.is_file() else None
    relative = report.relative_to(folder).as_posix()
    return Report(relative, title, written, chart, blocks)


def latest_reports(data_dir: Path) -> list[Report]:
    """The venue-ranking report, then next-basket reports (newest first) in ``reports/`` and
    its direct subfolders; none when the folder does not exist."""
    folder = data_dir / REPORTS_DIR
    if not folder.is_dir():
        return []
    found = [folder / VENUE_REPORT] if (folder / VENUE_REPORT).is_file() else []
    baskets = [*folder.glob(BASKET_GLOB), *folder.glob(f"*/{BASKET_GLOB}")]
    found += sorted(baskets, key=lambda p: (-p.stat().st_mtime, p.name))
    return [read_report(folder, path) for path in found]


def chart_path(data_dir: Path, name: str) -> Path | None:
    """The PNG ``name`` names inside the reports folder, or None for anything else.

    ``name`` may hold one subfolder (``next_basket/next_basket_events.png``); every part must be
    a plain file name, and the resolved file must still lie inside the folder (no symlink out).
    """
    folder = (data_dir / REPORTS_DIR).resolve()
    parts = name.split("/")
    if (
        len(parts) > 2
        or any(p in ("", ".", "..") for p in parts)
        or not CHART_NAME.match(parts[-1])
    ):
        return None
    if any(not re.fullmatch(r"[A-Za-z0-9_.-]+", p) for p in parts):
        return None
    path = folder.joinpath(*parts).resolve()
    return path if path.is_relative_to(folder) and path.is_file() else None


@router.get("/ui/reports/{name:path}")
async def report_chart(name: str, settings: SettingsDep) -> FileResponse:
    """A chart of the reports folder; 404 for anything that is not one."""
    path = chart_path(settings.data.dir, name)
    if path is None:
        raise HTTPException(404, "no such chart")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-cache"})
