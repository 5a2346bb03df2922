"""The browser UI at ``/ui``: a storefront showing personalisation live, and insight pages.

It lives under ``serving`` because all HTTP does (the layering keeps ``palate.web`` and
``palate.serving`` apart); pages call the premises in-process, the browser posts real events.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from palate.serving.web.insights import router as insights_router
from palate.serving.web.models_api import router as models_router
from palate.serving.web.reports import router as reports_router
from palate.serving.web.storefront import router as storefront_router

STATIC_DIR = Path(__file__).resolve().parent / "static"


def mount(app: FastAPI) -> None:
    """Add the UI pages, their static files and the model admin API to ``app``."""
    app.state.ui_started = time.monotonic()
    app.include_router(storefront_router)
    app.include_router(insights_router)
    app.include_router(models_router)
    app.include_router(reports_router)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
