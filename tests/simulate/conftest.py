"""Simulations shared by the simulator tests: small, moderate, and three cities in two markets."""

from __future__ import annotations

import pytest

from palate.simulate import SimulationResult, simulate
from tests.simulate.runs import MODERATE, NORDIC, SMALL


@pytest.fixture(scope="session")
def small() -> SimulationResult:
    """500 customers, two weeks, Helsinki."""
    return simulate(SMALL)


@pytest.fixture(scope="session")
def moderate() -> SimulationResult:
    """2,000 customers over six weeks: enough orders for behavioural statistics."""
    return simulate(MODERATE)


@pytest.fixture(scope="session")
def nordic() -> SimulationResult:
    """Helsinki, Stockholm and Tampere: two markets, two currencies, two timezones."""
    return simulate(NORDIC)
