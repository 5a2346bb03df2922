"""Real public datasets from the sibling ``shared/data`` folder, imported once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from palate.datasets import ImportedDataset
from palate.datasets.completejourney import import_completejourney
from palate.datasets.dhrd import import_dhrd
from palate.datasets.instacart import import_instacart
from palate.datasets.uci_restaurants import import_uci_restaurants
from tests.datasets.timing import timed_import


def shared_data() -> Path:
    """``$PALATE_SHARED_DATA``, else ``../shared/data`` beside the repository."""
    override = os.environ.get("PALATE_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def dataset_dir(name: str) -> Path:
    """One dataset's folder; tests needing it are skipped where the data are not checked out."""
    path = shared_data() / name
    if not path.is_dir():
        if os.environ.get("CI"):  # CI always has shared/ beside the clone: never skip there
            pytest.fail(f"public dataset missing in CI: {path}")
        pytest.skip(f"public dataset not available at {path}")
    return path


@pytest.fixture(scope="session")
def instacart_dir() -> Path:
    return dataset_dir("instacart-sample")


@pytest.fixture(scope="session")
def completejourney_dir() -> Path:
    return dataset_dir("completejourney")


@pytest.fixture(scope="session")
def uci_dir() -> Path:
    return dataset_dir("uci-restaurant-consumer")


@pytest.fixture(scope="session")
def dhrd_dir() -> Path:
    return dataset_dir("dhrd-schema-sample")


@pytest.fixture(scope="session")
def instacart(instacart_dir: Path) -> ImportedDataset:
    return timed_import("instacart", lambda: import_instacart(instacart_dir))


@pytest.fixture(scope="session")
def completejourney(completejourney_dir: Path) -> ImportedDataset:
    return timed_import("completejourney", lambda: import_completejourney(completejourney_dir))


@pytest.fixture(scope="session")
def uci(uci_dir: Path) -> ImportedDataset:
    return timed_import("uci-restaurants", lambda: import_uci_restaurants(uci_dir))


@pytest.fixture(scope="session")
def dhrd(dhrd_dir: Path) -> ImportedDataset:
    return timed_import("dhrd", lambda: import_dhrd(dhrd_dir))
