"""``/v1/admin/rules``: business rules created at runtime, stored durably, applied at once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Response

from palate.rules.config import Rule
from palate.serving.catalog_api import ERRORS, AdminDep
from palate.serving.dependencies import StateDep
from palate.serving.state import ServingState

router = APIRouter(tags=["admin"])

PIN_EXAMPLE: dict[str, Any] = {
    "id": "pin-pizza-friday",
    "kind": "pin",
    "target": "v12",
    "slot": 0,
    "city": "hel",
    "starts_at": "2026-09-18T15:00:00Z",
    "ends_at": "2026-09-18T21:00:00Z",
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "pin": {"value": PIN_EXAMPLE},
    "bury": {"value": {"id": "bury-late", "kind": "boost", "targets": ["v7"], "factor": 0.2}},
    "sponsored": {
        "value": {"id": "ad-1", "kind": "sponsored", "target": "v3", "slot": 2, "market": "fi"}
    },
    "exclude": {"value": {"id": "hide", "kind": "exclude", "targets": ["v5", "v6"]}},
    "diversity": {
        "value": {"id": "brands", "kind": "diversity", "by": "brand", "max_per": 1, "top_n": 10}
    },
}
RuleBody = Annotated[Rule, Body(openapi_examples=EXAMPLES)]


def _listing(state: ServingState) -> list[dict[str, Any]]:
    if state.rule_store is not None:
        state.rule_store.refresh()
    return [
        {"source": source, **rule.model_dump(mode="json")}
        for source, rule in state.business_rules.everything()
    ]


@router.get("/v1/admin/rules", responses=ERRORS)
async def list_rules(state: StateDep, _: AdminDep) -> dict[str, list[dict[str, Any]]]:
    """Every rule: from config (``source: config``) and from this API (``source: api``)."""
    return {"rules": _listing(state)}


@router.get("/v1/admin/rules/{rule_id}", responses=ERRORS)
async def get_rule(rule_id: str, state: StateDep, _: AdminDep) -> dict[str, list[dict[str, Any]]]:
    """The rules with this id (a config rule and an API rule may share one)."""
    found = [rule for rule in _listing(state) if rule["id"] == rule_id]
    if not found:
        raise HTTPException(404, f"unknown rule {rule_id!r}")
    return {"rules": found}


@router.put("/v1/admin/rules", responses=ERRORS)
async def put_rule(body: RuleBody, state: StateDep, _: AdminDep) -> dict[str, Any]:
    """Create or replace a rule by id; it applies from the next request and survives restarts.

    An API rule overrides a config rule with the same id in the same scope.
    """
    if state.rule_store is not None:
        state.rule_store.put(body)
    else:
        state.business_rules.put(body)
    return {"source": "api", **body.model_dump(mode="json")}


@router.delete("/v1/admin/rules/{rule_id}", status_code=204, responses=ERRORS)
async def delete_rule(rule_id: str, state: StateDep, _: AdminDep) -> Response:
    """Delete an API rule (config rules change with the config file)."""
    store = state.rule_store
    removed = store.delete(rule_id) if store is not None else state.business_rules.delete(rule_id)
    if not removed:
        raise HTTPException(404, f"no API rule {rule_id!r}")
    return Response(status_code=204)
