"""catalog."""

from __future__ import annotations
