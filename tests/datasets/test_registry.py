"""Looking importers up by name, and reading pandas-style CSV dumps."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from palate.datasets import IMPORTERS, import_dataset
from palate.datasets.tables import read_csv_dump


def test_the_four_public_datasets_are_registered() -> None:
    assert set(IMPORTERS) == {"instacart", "completejourney", "uci-restaurants", "dhrd"}


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'movielens'") as raised:
        import_dataset("movielens", Path())
    for name in IMPORTERS:
        assert name in str(raised.value)


def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found"):
        import_dataset("instacart", tmp_path / "absent")


def test_lookup_runs_the_named_importer(uci_dir: Path) -> None:
    imported = import_dataset("uci-restaurants", uci_dir)
    assert "mx" in imported.catalog.markets
    assert imported.events.num_rows > 0


def test_csv_dumps_lose_the_pandas_index_and_keep_ids_as_text(instacart_dir: Path) -> None:
    orders = read_csv_dump(instacart_dir / "orders_sample.csv", n_rows=5)
    assert orders.columns[0] == "order_id"
    assert set(orders.schema.values()) == {pl.String}
    products = read_csv_dump(instacart_dir / "products.csv", n_rows=5)
    assert products.columns[0] == "product_id"
