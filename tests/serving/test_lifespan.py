"""What the app's lifespan sets up for serving, checked on the real app."""

from __future__ import annotations

import asyncio
import gc
import shutil
import sys
from pathlib import Path

import pytest

from palate.catalog.store import load_catalog
from palate.serving.app import create_app
from palate.serving.state import build_state
from palate.settings import Settings


def test_the_lifespan_shortens_the_gil_switch_interval_and_freezes_the_gc(
    simulated_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    shutil.copytree(simulated_dir / "catalog", root / "catalog")
    settings = Settings(data={"dir": root}, server={"gil_switch_interval_ms": 0.7})
    app = create_app(settings, build_state(load_catalog(root / "catalog"), settings, data_dir=root))
    before = sys.getswitchinterval()
    seen: dict[str, float] = {}

    async def serve_briefly() -> None:
        async with app.router.lifespan_context(app):
            seen["interval"] = sys.getswitchinterval()
            seen["frozen"] = gc.get_freeze_count()

    try:
        asyncio.run(serve_briefly())
    finally:
        sys.setswitchinterval(before)
        gc.unfreeze()
    assert seen["interval"] == pytest.approx(0.0007)
    assert seen["frozen"] > 0
