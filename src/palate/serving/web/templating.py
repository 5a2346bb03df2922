"""The Jinja2 environment of the UI pages, and the response every page renders through."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def to_json(value: Any) -> str:
    """JSON for a ``<script type="application/json">`` block; ``</`` is escaped so it cannot end it.

    >>> to_json({"a": "</script>"})
    '{"a":"<\\\\/script>"}'
    """
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


TEMPLATES.env.filters["to_json"] = to_json


def render(request: Request, name: str, context: dict[str, Any]) -> HTMLResponse:
    """``name`` rendered with ``context`` plus the request id of this page's ranking."""
    page = {"request_id": request.state.request_id, **context}
    return TEMPLATES.TemplateResponse(request, name, page)
