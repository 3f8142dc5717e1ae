"""Triggers in Kestra's shapes (TriggerController): search answers `{abstractTrigger,
triggerContext}` pairs, a trigger is disabled or enabled one at a time or in bulk, and unlock
and backfill say plainly what Lanner does instead."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from lanner.server import params
from lanner.server.identifiers import TENANT
from lanner.server.problems import ApiProblem, not_found
from lanner.server.schemas import BulkResponse, PagedResults, TriggersDisabled, TriggerUpdate
from lanner.server.services import Services

router = APIRouter(tags=["Triggers"])
SORTS = {"triggerId": "triggerId", "flowId": "flowId", "namespace": "namespace",
         "nextExecutionDate": "nextExecutionDate", "date": "date"}
NO_BACKFILL = ("Lanner does not backfill schedules",
               "start the past dates' executions through POST /api/v1/executions/{namespace}/{flowId}, "
               "with the dates as inputs or labels")


def services(request: Request) -> Services:
    return request.app.state.services


def _contexts(svc: Services) -> list[dict[str, Any]]:
    """Each trigger's state as Kestra's `triggerContext`, plus Lanner's own `type`, `lastError`
    and `stoppedBy` (why `stopAfter` disabled it)."""
    return [{"tenantId": TENANT, "backfill": None, **row} for row in svc.scheduler.list()]


def _definitions(svc: Services) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(f.namespace, f.id, t.id): t.model_dump(exclude_none=True, by_alias=True)
            for f in svc.all_flows() for t in f.triggers}


@router.get("/triggers/search", summary="The triggers of the stored flows and their state",
            response_model=PagedResults)
def search_triggers(page: int = Query(1, ge=1), size: int = Query(100, ge=1, le=1000), q: str | None = None,
                    namespace: str | None = None, flowId: str | None = None, sort: str | None = None,
                    svc: Services = Depends(services)) -> dict[str, Any]:
    rows = _contexts(svc)
    if namespace:
        rows = [r for r in rows if r["namespace"] == namespace or r["namespace"].startswith(namespace + ".")]
    if flowId:
        rows = [r for r in rows if r["flowId"] == flowId]
    if q:
        needle = q.lower()
        rows = [r for r in rows if any(needle in r[k].lower() for k in ("namespace", "flowId", "triggerId"))]
    order = params.sort(sort, SORTS)
    if order:
        field, _, direction = order.partition(":")
        rows.sort(key=lambda r: str(r.get(SORTS[field]) or ""), reverse=direction == "desc")
    chosen = rows[(page - 1) * size: page * size]
    definitions = _definitions(svc) if chosen else {}
    return {"results": [{"abstractTrigger": definitions.get((r["namespace"], r["flowId"], r["triggerId"])),
                         "triggerContext": r} for r in chosen], "total": len(rows)}


def _set_disabled(svc: Services, namespace: str, flow_id: str, trigger_id: str, disabled: bool) -> dict[str, Any]:
    known = {(r["namespace"], r["flowId"], r["triggerId"]) for r in svc.scheduler.list()}
    key = (namespace, flow_id, trigger_id)
    if key not in known:
        raise not_found(f"trigger `{trigger_id}` of flow `{namespace}.{flow_id}`")
    svc.scheduler.set_disabled(key, disabled)
    return next(r for r in _contexts(svc) if (r["namespace"], r["flowId"], r["triggerId"]) == key)


@router.put("/triggers", summary="Disable a trigger, or enable it again")
def update_trigger(body: TriggerUpdate, svc: Services = Depends(services)) -> dict[str, Any]:
    if body.backfill is not None:
        raise ApiProblem(422, NO_BACKFILL[0], hint=NO_BACKFILL[1])
    return _set_disabled(svc, body.namespace, body.flowId, body.triggerId, body.disabled)


@router.post("/triggers/set-disabled/by-triggers", summary="Disable or enable several triggers",
             response_model=BulkResponse)
def set_disabled_by_triggers(body: TriggersDisabled, svc: Services = Depends(services)) -> dict[str, int]:
    known = {(r["namespace"], r["flowId"], r["triggerId"]) for r in svc.scheduler.list()}
    missing = [t for t in body.triggers if (t.namespace, t.flowId, t.triggerId) not in known]
    if missing:
        raise ApiProblem(404, "no such trigger: " + ", ".join(f"{t.namespace}.{t.flowId}.{t.triggerId}"
                                                             for t in missing[:5]),
                         hint="nothing was changed; list the triggers with GET /api/v1/triggers/search")
    for t in body.triggers:
        svc.scheduler.set_disabled((t.namespace, t.flowId, t.triggerId), body.disabled)
    return {"count": len(body.triggers)}


@router.post("/triggers/{namespace}/{flow_id}/{trigger_id}/unlock", summary="Unlock a trigger (never locked here)")
def unlock(namespace: str, flow_id: str, trigger_id: str, svc: Services = Depends(services)) -> dict[str, Any]:
    context = next((r for r in _contexts(svc) if (r["namespace"], r["flowId"], r["triggerId"])
                    == (namespace, flow_id, trigger_id)), None)
    if context is None:
        raise not_found(f"trigger `{trigger_id}` of flow `{namespace}.{flow_id}`")
    raise ApiProblem(409, f"trigger `{trigger_id}` is not locked: Lanner's scheduler never holds a trigger while "
                          "its execution runs",
                     hint="nothing to unlock; disable or enable it with PUT /api/v1/triggers")


@router.put("/triggers/backfill/{action}", summary="Pause or unpause a backfill (refused: not implemented)")
@router.post("/triggers/backfill/{action}", summary="Delete a backfill (refused: not implemented)")
def backfill(action: str) -> None:
    raise ApiProblem(422, NO_BACKFILL[0], hint=NO_BACKFILL[1])
