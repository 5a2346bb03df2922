"""``python -m palate``."""

from __future__ import annotations

from palate.cli import main

main()
