"""``/v1/admin/models``: list, promote and roll back registered ranking models over HTTP.

The same registry operations as ``palate models``; serving follows a promotion within a poll.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path

from palate.premises.discovery import DISCOVERY_FEATURES
from palate.ranking.model_store import (
    FileModelStore,
    ModelStoreError,
    ModelVersion,
    PromotionRefusedError,
    UnknownModelError,
)
from palate.serving.catalog_api import ERRORS, AdminDep
from palate.serving.dependencies import SettingsDep

router = APIRouter(tags=["admin"])
ModelName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]+$", max_length=128)]
VersionBody = Annotated[str, Body(embed=True, max_length=64, examples=["v3"])]


def version_json(version: ModelVersion) -> dict[str, Any]:
    """A version's metadata as the API shows it."""
    return {
        "version": version.version,
        "created_at": version.created_at.isoformat(),
        "metrics": dict(version.metrics),
        "features": list(version.features),
        "training_start": version.training_start.isoformat(),
        "training_end": version.training_end.isoformat(),
        "parent": version.parent,
    }


def registry_json(store: FileModelStore, name: str) -> dict[str, Any]:
    """Every version of ``name`` (oldest first), the promoted one and the promotion history."""
    promotions = store.promotions(name)
    return {
        "name": name,
        "current": promotions.current,
        "history": list(promotions.history),
        "versions": [version_json(v) for v in store.list(name)],
    }


@router.get("/v1/admin/models/{name}", responses=ERRORS, summary="A model's registered versions")
async def list_models(name: ModelName, settings: SettingsDep, _: AdminDep) -> dict[str, Any]:
    """Versions, the promoted one and the history a rollback walks back through."""
    return registry_json(FileModelStore.in_data_dir(settings.data.dir), name)


@router.post(
    "/v1/admin/models/{name}/promote", responses=ERRORS, summary="Serve a registered version"
)
async def promote_model(
    name: ModelName, version: VersionBody, settings: SettingsDep, _: AdminDep
) -> dict[str, Any]:
    """Make ``version`` current unless the registry's checks refuse it (409 with the reason)."""
    store = FileModelStore.in_data_dir(settings.data.dir)
    try:
        store.promote(name, version, serving_features=DISCOVERY_FEATURES)
    except UnknownModelError as exc:
        raise HTTPException(404, str(exc)) from None
    except (PromotionRefusedError, ModelStoreError) as exc:
        raise HTTPException(409, str(exc)) from None
    return registry_json(store, name)


@router.post(
    "/v1/admin/models/{name}/rollback", responses=ERRORS, summary="Serve the previous promotion"
)
async def rollback_model(name: ModelName, settings: SettingsDep, _: AdminDep) -> dict[str, Any]:
    """Return to the version promoted before the current one (409 when there is none)."""
    store = FileModelStore.in_data_dir(settings.data.dir)
    try:
        store.rollback(name)
    except ModelStoreError as exc:
        raise HTTPException(409, str(exc)) from None
    return registry_json(store, name)
