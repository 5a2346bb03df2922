"""Fixtures for the serving index and persistence tests."""

from __future__ import annotations

import pytest

from palate.catalog import VenueIndex
from palate.domain import Catalog
from tests.catalog.builders import tiny_catalog


@pytest.fixture
def catalog() -> Catalog:
    """Two cities in two timezones and a handful of venues, one per behaviour under test."""
    return tiny_catalog()


@pytest.fixture
def index(catalog: Catalog) -> VenueIndex:
    """The serving index over :func:`catalog`."""
    return VenueIndex.build(catalog)
