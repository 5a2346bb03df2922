"""``/v1/catalog/...``: bulk upserts and partial updates, visible to the next ranking."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException

from palate.catalog.editor import CatalogEditor, UnknownEntityError
from palate.serving.catalog_schemas import (
    BannersBody,
    CategoriesBody,
    ItemPatch,
    ItemsBody,
    UpsertResult,
    VenuePatch,
    VenuesBody,
)
from palate.serving.dependencies import SettingsDep, StateDep
from palate.serving.errors import InvalidFieldError
from palate.serving.schemas import ErrorResponse

router = APIRouter(tags=["catalog"])


async def require_admin(
    settings: SettingsDep, authorization: Annotated[str, Header()] = ""
) -> None:
    """``Authorization: Bearer <admin_token>``; 401 otherwise."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token, settings.admin_token):
        raise HTTPException(401, "admin token required: Authorization: Bearer <admin_token>")


AdminDep = Annotated[None, Depends(require_admin)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}


def _unknown(exc: UnknownEntityError, field: str) -> InvalidFieldError:
    return InvalidFieldError(field, f"unknown {exc.args[0]}")


@router.put("/v1/catalog/venues", response_model=UpsertResult, responses=ERRORS)
async def put_venues(body: VenuesBody, state: StateDep, _: AdminDep) -> UpsertResult:
    """Add or replace venues (bulk)."""
    try:
        count = state.editor.upsert_venues(v.to_domain() for v in body.venues)
    except UnknownEntityError as exc:
        raise _unknown(exc, "venues") from exc
    state.record_catalog_change("venues", body.model_dump(mode="json"))
    return UpsertResult(upserted=count)


@router.put("/v1/catalog/items", response_model=UpsertResult, responses=ERRORS)
async def put_items(body: ItemsBody, state: StateDep, _: AdminDep) -> UpsertResult:
    """Add or replace items (bulk); their venues must exist."""
    try:
        count = state.editor.upsert_items(i.to_domain() for i in body.items)
    except UnknownEntityError as exc:
        raise _unknown(exc, "items") from exc
    state.record_catalog_change("items", body.model_dump(mode="json"))
    return UpsertResult(upserted=count)


@router.put("/v1/catalog/banners", response_model=UpsertResult, responses=ERRORS)
async def put_banners(body: BannersBody, state: StateDep, _: AdminDep) -> UpsertResult:
    """Add or replace banners (bulk)."""
    count = state.editor.upsert_banners(b.to_domain() for b in body.banners)
    state.record_catalog_change("banners", body.model_dump(mode="json"))
    return UpsertResult(upserted=count)


@router.put("/v1/catalog/categories", response_model=UpsertResult, responses=ERRORS)
async def put_categories(body: CategoriesBody, state: StateDep, _: AdminDep) -> UpsertResult:
    """Add or replace food categories (bulk)."""
    count = state.editor.upsert_categories(c.to_domain() for c in body.categories)
    state.record_catalog_change("categories", body.model_dump(mode="json"))
    return UpsertResult(upserted=count)


@router.patch("/v1/catalog/venues/{venue_id}", responses=ERRORS)
async def patch_venue(
    venue_id: str, body: VenuePatch, state: StateDep, _: AdminDep
) -> dict[str, str]:
    """Pause, resume or mark busy; close temporarily with ``closed_until``."""
    if venue_id not in state.catalog.venues:
        raise HTTPException(404, f"unknown venue {venue_id!r}")
    apply_venue_patch(state.editor, venue_id, body)
    state.record_catalog_change(
        "venue_patch", {"venue_id": venue_id, **body.model_dump(mode="json", exclude_unset=True)}
    )
    return {"venue_id": venue_id, "status": state.catalog.venues[venue_id].status.value}


@router.patch("/v1/catalog/items/{item_id}", responses=ERRORS)
async def patch_item(
    item_id: str, body: ItemPatch, state: StateDep, _: AdminDep
) -> dict[str, object]:
    """Mark an item sold out or back in stock."""
    if item_id not in state.catalog.items:
        raise HTTPException(404, f"unknown item {item_id!r}")
    state.editor.set_item_availability(item_id, body.available)
    state.record_catalog_change("item_patch", {"item_id": item_id, "available": body.available})
    return {"item_id": item_id, "available": body.available}


def apply_venue_patch(editor: CatalogEditor, venue_id: str, patch: VenuePatch) -> None:
    """Apply the fields the patch sets (``closed_until: null`` reopens)."""
    if patch.status is not None:
        editor.set_venue_status(venue_id, patch.status)
    if "closed_until" in patch.model_fields_set:
        editor.close_until(venue_id, patch.closed_until)


def apply_change(editor: CatalogEditor, op: str, body: dict[str, Any]) -> None:
    """Re-apply one logged change (the same conversion the API used)."""
    if op == "venues":
        editor.upsert_venues(v.to_domain() for v in VenuesBody.model_validate(body).venues)
    elif op == "items":
        editor.upsert_items(i.to_domain() for i in ItemsBody.model_validate(body).items)
    elif op == "banners":
        editor.upsert_banners(b.to_domain() for b in BannersBody.model_validate(body).banners)
    elif op == "categories":
        categories = CategoriesBody.model_validate(body).categories
        editor.upsert_categories(c.to_domain() for c in categories)
    elif op == "venue_patch":
        venue_id = body.pop("venue_id")
        apply_venue_patch(editor, venue_id, VenuePatch.model_validate(body))
    elif op == "item_patch":
        editor.set_item_availability(body["item_id"], body["available"])
