"""The model registry: versioned ranking models on disk and the pointer to the promoted one.

Layout under ``<data>/models/<name>/``::

    v0001/model.txt        the LightGBM text model
    v0001/metadata.json    feature order, training window, data hash, metrics, params, parent
    v0001/compiled/        compiled-tree objects, one per CPU and compiler version
    current.json           {"current": "v0002", "history": ["v0001", "v0002"], ...}

A version directory appears by one ``rename`` of a fully written staging directory, and the
pointer is replaced by write-temp-fsync-rename, so readers never see half an artefact. Writers
(register, promote, rollback) serialise on an ``flock`` so concurrent processes never pick the
same version number nor lose a promotion. What a version *is* lives in
:mod:`palate.ranking.model_version`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from palate.ranking.compiled import compile_object
from palate.ranking.model_version import (
    COMPILED_DIR,
    METADATA_FILE,
    MODEL_FILE,
    VERSION_PATTERN,
    ModelStoreError,
    ModelVersion,
    PromotionRefusedError,
    Promotions,
    UnknownModelError,
    check_promotion,
    model_feature_names,
    version_number,
)

__all__ = [
    "DEFAULT_MAX_NDCG_DROP",
    "MODELS_DIR",
    "FileModelStore",
    "ModelStore",
    "ModelStoreError",
    "ModelVersion",
    "PromotionRefusedError",
    "Promotions",
    "UnknownModelError",
]

MODELS_DIR = "models"
POINTER_FILE = "current.json"
DEFAULT_MAX_NDCG_DROP = 0.01

log = logging.getLogger("palate.ranking.models")


class ModelStore(Protocol):
    """What training, the CLI and the serving watcher need from a model registry."""

    def register(
        self,
        name: str,
        model_text: str,
        *,
        features: Sequence[str],
        training_window: tuple[datetime, datetime],
        data_hash: str,
        metrics: Mapping[str, float],
        params: Mapping[str, Any],
        parent: str | None = None,
        precompile: bool = True,
        extra_dirs: Mapping[str, Path] | None = None,
    ) -> ModelVersion:
        """Store a new version (never promoted by registering); ``extra_dirs`` (name →
        directory) are copied into the version directory, e.g. the model's embeddings."""
        ...

    def list(self, name: str) -> tuple[ModelVersion, ...]:
        """Every version of ``name``, oldest first."""
        ...

    def get(self, name: str, version: str) -> ModelVersion:
        """One version; :class:`UnknownModelError` if absent."""
        ...

    def promotions(self, name: str) -> Promotions:
        """The current pointer and its history (cheap: one small file)."""
        ...

    def current(self, name: str) -> ModelVersion | None:
        """The promoted version, or None before the first promotion."""
        ...

    def promote(
        self, name: str, version: str, *, serving_features: Sequence[str], max_ndcg_drop: float
    ) -> ModelVersion:
        """Make ``version`` current, or raise :class:`PromotionRefusedError`."""
        ...

    def rollback(self, name: str) -> ModelVersion:
        """Make the previously promoted version current again."""
        ...


class FileModelStore:
    """The registry in a local (or shared POSIX) directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FileModelStore:
        """The registry of a Palate data directory (``<data>/models``)."""
        return cls(data_dir / MODELS_DIR)

    def register(
        self,
        name: str,
        model_text: str,
        *,
        features: Sequence[str],
        training_window: tuple[datetime, datetime],
        data_hash: str,
        metrics: Mapping[str, float],
        params: Mapping[str, Any],
        parent: str | None = None,
        precompile: bool = True,
        extra_dirs: Mapping[str, Path] | None = None,
    ) -> ModelVersion:
        """Write the artefacts, compile them (outside the lock) and publish the next version."""
        document = {
            "name": name,
            "features": list(_checked_features(model_text, features)),
            "training_window": _checked_window(training_window),
            "data_hash": data_hash,
            "metrics": _checked_metrics(metrics),
            "params": _json_ready(params),
            "parent": parent,
        }
        home = self._home(name, create=True)
        staging = home / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            _write_durably(staging / MODEL_FILE, model_text.encode())
            for dir_name, source in (extra_dirs or {}).items():
                shutil.copytree(source, staging / dir_name)  # published by the same rename
            if precompile:  # slow (seconds); other writers must not wait for it
                compile_object(staging / MODEL_FILE, staging / COMPILED_DIR)
            with self._locked(name):
                version = f"v{self._last_number(name) + 1:04d}"
                document |= {"version": version, "created_at": datetime.now(UTC).isoformat()}
                _write_durably(staging / METADATA_FILE, _dumps(document))
                staging.rename(home / version)
                _fsync_dir(home)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("registered model", extra={"model": f"{name}@{version}"})
        return self.get(name, version)

    def list(self, name: str) -> tuple[ModelVersion, ...]:
        """Every version of ``name``, oldest first; empty for an unknown name."""
        home = self._home(name)
        if not home.is_dir():
            return ()
        names = sorted(
            (p.name for p in home.iterdir() if VERSION_PATTERN.match(p.name)), key=version_number
        )
        return tuple(self.get(name, v) for v in names)

    def get(self, name: str, version: str) -> ModelVersion:
        """One version; :class:`UnknownModelError` if it is not registered."""
        version_number(version)
        path = self._home(name) / version
        try:
            document = json.loads((path / METADATA_FILE).read_bytes())
        except FileNotFoundError:
            raise UnknownModelError(f"no version {version} of model {name!r}") from None
        return ModelVersion.from_json(document, path)

    def promotions(self, name: str) -> Promotions:
        """The pointer file's content; no promotion yet reads as an empty history."""
        try:
            document = json.loads((self._home(name) / POINTER_FILE).read_bytes())
        except FileNotFoundError:
            return Promotions(None, ())
        return Promotions(
            current=document["current"],
            history=tuple(document["history"]),
            updated_at=datetime.fromisoformat(document["updated_at"]),
        )

    def current(self, name: str) -> ModelVersion | None:
        """The promoted version, or None before the first promotion."""
        pointer = self.promotions(name).current
        return None if pointer is None else self.get(name, pointer)

    def promote(
        self,
        name: str,
        version: str,
        *,
        serving_features: Sequence[str],
        max_ndcg_drop: float = DEFAULT_MAX_NDCG_DROP,
    ) -> ModelVersion:
        """Make ``version`` current unless :func:`check_promotion` objects; idempotent."""
        with self._locked(name):
            candidate = self.get(name, version)
            state = self.promotions(name)
            if state.current == version:
                return candidate
            current = None if state.current is None else self.get(name, state.current)
            reason = check_promotion(candidate, current, serving_features, max_ndcg_drop)
            if reason is not None:
                raise PromotionRefusedError(name, version, reason)
            self._write_pointer(name, (*state.history, version))
        log.info("promoted model", extra={"model": candidate.label})
        return candidate

    def rollback(self, name: str) -> ModelVersion:
        """Return to the version promoted before the current one (no checks: it served)."""
        with self._locked(name):
            history = self.promotions(name).history
            if len(history) < 2:
                raise ModelStoreError(f"model {name!r} has no earlier promotion to roll back to")
            previous = self.get(name, history[-2])
            self._write_pointer(name, history[:-1])
        log.info("rolled back model", extra={"model": previous.label})
        return previous

    def _home(self, name: str, create: bool = False) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name.startswith("."):
            raise ModelStoreError(f"invalid model name {name!r}")
        home = self.root / name
        if create:
            home.mkdir(parents=True, exist_ok=True)
        return home

    def _last_number(self, name: str) -> int:
        home = self._home(name)
        return max(
            (version_number(p.name) for p in home.iterdir() if VERSION_PATTERN.match(p.name)),
            default=0,
        )

    def _write_pointer(self, name: str, history: tuple[str, ...]) -> None:
        document = {
            "name": name,
            "current": history[-1],
            "history": list(history),
            "updated_at": datetime.now(UTC).isoformat(),
        }
        _write_durably(self._home(name) / POINTER_FILE, _dumps(document))

    @contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        lock_path = self._home(name, create=True) / ".lock"
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _checked_features(model_text: str, features: Sequence[str]) -> tuple[str, ...]:
    ordered = tuple(features)
    if not ordered or len(set(ordered)) != len(ordered):
        raise ModelStoreError(f"features must be non-empty and unique, got {list(ordered)}")
    in_model = model_feature_names(model_text)
    if in_model != ordered:
        raise ModelStoreError(
            f"feature list {list(ordered)} differs from the model's own {list(in_model)}"
        )
    return ordered


def _checked_window(window: tuple[datetime, datetime]) -> dict[str, str]:
    start, end = window
    if start > end:
        raise ModelStoreError(f"training window starts after it ends: {start} > {end}")
    return {"start": start.isoformat(), "end": end.isoformat()}


def _checked_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    clean = {str(k): float(v) for k, v in metrics.items()}
    bad = [k for k, v in clean.items() if not math.isfinite(v)]
    if bad:
        raise ModelStoreError(f"metrics must be finite: {bad}")
    return clean


def _json_ready(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as plain JSON values (numpy scalars become Python numbers)."""
    loaded: dict[str, Any] = json.loads(_dumps(dict(params)))
    return loaded


def _dumps(document: Mapping[str, Any]) -> bytes:
    def plain(value: object) -> object:
        item = getattr(value, "item", None)  # numpy scalars
        return item() if callable(item) else str(value)

    return json.dumps(document, indent=2, sort_keys=True, default=plain).encode()


def _write_durably(path: Path, payload: bytes) -> None:
    """Write temp, fsync, rename over ``path``, fsync the directory: all or nothing."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with temporary.open("wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
