"""Reading public CSV dumps and handing polars frames over as event-log Arrow tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from palate.events.schema import conform


def read_csv_dump(path: Path, **options: Any) -> pl.DataFrame:
    """A CSV as strings, without the unnamed index column that ``pandas.to_csv`` leaves first.

    Everything is read as text so that ids keep their exact spelling (leading zeros, hashes that
    look like numbers); callers cast the numeric columns they need.
    """
    frame = pl.read_csv(path, infer_schema=False, **options)
    first = frame.columns[0] if frame.columns else None
    if first is not None and (first == "" or first.startswith("Unnamed")):
        frame = frame.drop(first)
    return frame


def to_event_table(frame: pl.DataFrame) -> pa.Table:
    """Event columns of ``frame`` (others ignored) as a table with exactly ``EVENT_SCHEMA``."""
    # The oldest compat level yields large_string/large_list, which pyarrow casts to the schema.
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return conform(table)


def sort_events(frame: pl.DataFrame) -> pl.DataFrame:
    """Events in log order: by time, ties broken by id so that imports are deterministic."""
    return frame.sort("ts", "event_id")


def column_rows(frame: pl.DataFrame, *names: str) -> Iterator[tuple[Any, ...]]:
    """Row tuples of the named columns; faster than ``DataFrame.rows`` for catalog building.

    >>> list(column_rows(pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}), "b", "a"))
    [('x', 1), ('y', 2)]
    """
    return zip(*(frame.get_column(name).to_list() for name in names), strict=True)
