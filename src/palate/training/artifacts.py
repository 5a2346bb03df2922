"""Trained artefacts on disk and in memory: sorted id vocabularies, npz arrays, json metadata.

Every artefact (embeddings, co-purchase, priors) keys its rows by a sorted array of string ids,
so mapping request ids to rows is one vectorised :func:`numpy.searchsorted`, with no Python
dict walked per candidate. On disk an artefact is ``<name>.npz`` (arrays, loaded without
pickle) plus ``<name>.json`` (metadata), each written to a temporary and renamed into place so
a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from palate.pipeline.candidates import IntArray

StrArray = npt.NDArray[np.str_]
Ids = StrArray | Sequence[str]
FORMAT_VERSION = 1


def as_id_array(ids: Ids) -> StrArray:
    """Ids as a numpy unicode array (what :func:`positions_in` searches with).

    >>> as_id_array(["v2", "v10"]).dtype.kind
    'U'
    """
    array = np.asarray(ids)
    if array.size == 0:
        return np.empty(0, dtype=np.str_)
    if array.dtype.kind != "U":
        array = array.astype(np.str_)
    return array


def event_frame(
    events: pa.Table | pl.DataFrame, columns: Sequence[str], types: Collection[str]
) -> pl.DataFrame:
    """The ``columns`` of the events whose ``type`` is in ``types``, as a polars frame.

    An Arrow table is filtered and narrowed before conversion: converting every string column
    of millions of impressions to polars costs seconds that training has no use for.

    >>> table = pa.table({"type": ["order", "impression"], "user_id": ["u1", "u2"]})
    >>> event_frame(table, ["user_id"], {"order"})["user_id"].to_list()
    ['u1']
    """
    if isinstance(events, pl.DataFrame):
        return events.filter(pl.col("type").is_in(list(types))).select(columns)
    kept = events.filter(pc.is_in(events.column("type"), pa.array(list(types), pa.string())))
    frame = pl.from_arrow(kept.select(list(columns)))
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"expected a table of events, got {type(events).__name__}")
    return frame


def sorted_unique(series: pl.Series) -> StrArray:
    """The distinct non-null values of a string column, sorted, as a numpy unicode array."""
    values = series.drop_nulls().unique().sort()
    return as_id_array(values.to_numpy())


def codes_of(series: pl.Series, vocabulary: StrArray) -> IntArray:
    """Row of each value of ``series`` in ``vocabulary``, ``-1`` for values not in it.

    A hash join, which beats a binary search over strings on millions of rows.

    >>> codes_of(pl.Series(["b", "a", "b", "z"]), as_id_array(["a", "b"])).tolist()
    [1, 0, 1, -1]
    """
    lookup = pl.DataFrame({"value": pl.Series(vocabulary, dtype=pl.String)}).with_row_index("code")
    coded = pl.DataFrame({"value": series.cast(pl.String)}).join(
        lookup, on="value", how="left", maintain_order="left"
    )
    return coded["code"].cast(pl.Int32).fill_null(-1).to_numpy()


def positions_in(vocabulary: StrArray, ids: Ids) -> IntArray:
    """Row of each id in the sorted ``vocabulary``, ``-1`` where the id is absent.

    >>> positions_in(as_id_array(["a", "c"]), ["c", "b", "a", "z"]).tolist()
    [1, -1, 0, -1]
    """
    query = as_id_array(ids)
    if len(vocabulary) == 0 or len(query) == 0:
        return np.full(len(query), -1, dtype=np.int32)
    found = np.minimum(np.searchsorted(vocabulary, query), len(vocabulary) - 1)
    return np.where(vocabulary[found] == query, found, -1).astype(np.int32)


def csr_arrays(prefix: str, matrix: Any) -> dict[str, np.ndarray]:
    """The arrays of a CSR matrix under ``prefix_*`` keys, for :func:`save_arrays`."""
    matrix = sp.csr_matrix(matrix)
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr,
        f"{prefix}_shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def csr_from_arrays(prefix: str, arrays: Mapping[str, np.ndarray]) -> Any:
    """Rebuild the CSR matrix that :func:`csr_arrays` stored under ``prefix``."""
    shape = tuple(int(n) for n in arrays[f"{prefix}_shape"])
    parts = (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"])
    return sp.csr_matrix(parts, shape=shape)


def save_arrays(
    directory: Path, name: str, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, Any]
) -> None:
    """Write ``name.npz`` and ``name.json`` into ``directory`` (created if missing), atomically
    per file. ``metadata`` must be JSON-serialisable; ``kind`` and ``format_version`` are added.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    document = {"kind": name, "format_version": FORMAT_VERSION, **metadata}
    arrays_tmp = directory / f".{name}.npz.tmp"
    with arrays_tmp.open("wb") as handle:
        contents: dict[str, Any] = dict(arrays)
        np.savez(handle, **contents)
        handle.flush()
        os.fsync(handle.fileno())
    meta_tmp = directory / f".{name}.json.tmp"
    meta_tmp.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
    arrays_tmp.replace(directory / f"{name}.npz")
    meta_tmp.replace(directory / f"{name}.json")


def load_arrays(directory: Path, name: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read what :func:`save_arrays` wrote; ``ValueError`` on another kind or format version."""
    directory = Path(directory)
    metadata: dict[str, Any] = json.loads((directory / f"{name}.json").read_text("utf-8"))
    if metadata.get("kind") != name or metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{directory / name}.json holds {metadata.get('kind')!r} "
            f"v{metadata.get('format_version')}, expected {name!r} v{FORMAT_VERSION}"
        )
    with np.load(directory / f"{name}.npz", allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    return arrays, metadata
