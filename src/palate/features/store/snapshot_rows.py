"""Checks shared by every adapter on the rows written into a snapshot version."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from palate.features.store.reads import EntityIds
from palate.features.store.specs import SnapshotSpec


def check_rows(
    spec: SnapshotSpec, entity_ids: EntityIds, values: npt.ArrayLike
) -> tuple[list[str], npt.NDArray[np.float32]]:
    """Entity ids as strings and values as a C-ordered float32 matrix of the spec's width.

    >>> spec = SnapshotSpec("s", "v", ("a", "b"))
    >>> check_rows(spec, ["v1"], [[1.0, 2.0]])[1].dtype
    dtype('float32')
    >>> check_rows(spec, ["v1"], [[1.0]])
    Traceback (most recent call last):
    ...
    ValueError: snapshot s: values must be 1 x 2 (entities x columns), got (1, 1)
    """
    ids = entity_ids.tolist() if isinstance(entity_ids, np.ndarray) else list(entity_ids)
    rows = np.ascontiguousarray(values, dtype=np.float32)
    expected = (len(ids), len(spec.columns))
    if rows.shape != expected:
        raise ValueError(
            f"snapshot {spec.name}: values must be {expected[0]} x {expected[1]} "
            f"(entities x columns), got {rows.shape}"
        )
    return [str(entity) for entity in ids], rows
