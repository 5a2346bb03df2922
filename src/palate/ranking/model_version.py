"""What a registered ranking model is: its metadata, its promotion state, and the promotion rule.

A version's metadata records everything needed to trust it in serving: the ordered feature list
(checked against the model file itself), the training window, a hash of the training data, the
offline metrics (``ndcg@10`` gates promotion), the training parameters and the parent version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from palate.errors import DataError

MODEL_FILE = "model.txt"
METADATA_FILE = "metadata.json"
COMPILED_DIR = "compiled"
NDCG_KEY = "ndcg@10"
VERSION_PATTERN = re.compile(r"^v(\d{4,})$")
_FEATURE_NAMES = re.compile(r"^feature_names=(.*)$", re.MULTILINE)


class ModelStoreError(DataError):
    """A registry operation that cannot be done as asked."""


class UnknownModelError(ModelStoreError, LookupError):
    """No such model name or version in the registry."""


class PromotionRefusedError(ModelStoreError):
    """A promotion or rollback that would make serving worse or broken; ``reason`` says why."""

    def __init__(self, name: str, version: str, reason: str) -> None:
        super().__init__(f"refusing to promote {name} {version}: {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One registered model: where its artefacts are and what it was trained on."""

    name: str
    version: str
    created_at: datetime
    features: tuple[str, ...]
    training_start: datetime
    training_end: datetime
    data_hash: str
    metrics: Mapping[str, float]
    params: Mapping[str, Any]
    parent: str | None
    path: Path

    @property
    def model_file(self) -> Path:
        """The LightGBM text model."""
        return self.path / MODEL_FILE

    @property
    def compiled_dir(self) -> Path:
        """Where compiled-tree objects of this version are cached."""
        return self.path / COMPILED_DIR

    @property
    def label(self) -> str:
        """``name@version``, as logged and shown."""
        return f"{self.name}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        """The ``metadata.json`` document (everything except the path)."""
        return {
            "name": self.name,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "features": list(self.features),
            "training_window": {
                "start": self.training_start.isoformat(),
                "end": self.training_end.isoformat(),
            },
            "data_hash": self.data_hash,
            "metrics": dict(self.metrics),
            "params": dict(self.params),
            "parent": self.parent,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any], path: Path) -> ModelVersion:
        """The inverse of :meth:`to_json`, for the version stored at ``path``."""
        window = document["training_window"]
        return cls(
            name=document["name"],
            version=document["version"],
            created_at=datetime.fromisoformat(document["created_at"]),
            features=tuple(document["features"]),
            training_start=datetime.fromisoformat(window["start"]),
            training_end=datetime.fromisoformat(window["end"]),
            data_hash=document["data_hash"],
            metrics={k: float(v) for k, v in document["metrics"].items()},
            params=dict(document["params"]),
            parent=document.get("parent"),
            path=path,
        )


@dataclass(frozen=True, slots=True)
class Promotions:
    """The promoted version and the stack of earlier promotions a rollback returns to."""

    current: str | None
    history: tuple[str, ...]
    updated_at: datetime | None = None


def check_promotion(
    candidate: ModelVersion,
    current: ModelVersion | None,
    serving_features: Sequence[str],
    max_ndcg_drop: float,
) -> str | None:
    """Why ``candidate`` must not replace ``current``, or None if it may.

    The scorer picks its columns by name, so serving may provide more features than the model
    uses, never fewer. NDCG@10 may drop by at most ``max_ndcg_drop`` (absolute).
    """
    missing = [f for f in candidate.features if f not in set(serving_features)]
    if missing:
        return f"features not provided by serving: {missing}"
    if current is None or NDCG_KEY not in current.metrics:
        return None
    if NDCG_KEY not in candidate.metrics:
        return f"no offline {NDCG_KEY} to compare with {current.version}'s"
    new, old = candidate.metrics[NDCG_KEY], current.metrics[NDCG_KEY]
    if new < old - max_ndcg_drop:
        return (
            f"offline {NDCG_KEY} {new:.4f} is {old - new:.4f} below current "
            f"{current.version}'s {old:.4f} (allowed drop {max_ndcg_drop:.4f})"
        )
    return None


def model_feature_names(model_text: str) -> tuple[str, ...]:
    """The feature names a LightGBM text model was trained with.

    >>> model_feature_names("tree\\nversion=v4\\nfeature_names=eta rating\\n")
    ('eta', 'rating')
    """
    found = _FEATURE_NAMES.search(model_text)
    if found is None:
        raise DataError("not a LightGBM text model: no feature_names line")
    return tuple(found.group(1).split())


def version_number(version: str) -> int:
    """The ordinal of a version name.

    >>> version_number("v0012")
    12
    """
    matched = VERSION_PATTERN.match(version)
    if matched is None:
        raise UnknownModelError(f"not a version name: {version!r}")
    return int(matched.group(1))
