"""Benchmarks reuse the test suite's fixtures (a simulated city on disk)."""

from __future__ import annotations

from tests.conftest import simulated_dir

__all__ = ["simulated_dir"]
