"""Triggers in Kestra's shapes (TriggerController): search answers `{abstractTrigger,
triggerContext}` pairs, a trigger is disabled or enabled one at a time or in bulk, a Schedule is
backfilled (`PUT /triggers` with `backfill`; pause, unpause, delete, one or by triggers), and
unlock says plainly that Lanner never locks a trigger."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from lanner.server import params
from lanner.server.dependencies import services
from lanner.server.identifiers import TENANT
from lanner.server.problems import ApiProblem, from_lanner, not_found
from lanner.server.schemas import BulkResponse, PagedResults, TriggerKeys, TriggersDisabled, TriggerUpdate
from lanner.server.services import Services

router = APIRouter(tags=["Triggers"])
SORTS = {"triggerId": "triggerId", "flowId": "flowId", "namespace": "namespace",
         "nextExecutionDate": "nextExecutionDate", "date": "date"}


def _contexts(svc: Services) -> list[dict[str, Any]]:
    """Each trigger's state as Kestra's `triggerContext`, plus Lanner's own `type`, `lastError`
    and `stoppedBy` (why `stopAfter` disabled it)."""
    return [{"tenantId": TENANT, **row} for row in svc.scheduler.list()]


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


def _context(svc: Services, key: tuple[str, str, str]) -> dict[str, Any]:
    return next(r for r in _contexts(svc) if (r["namespace"], r["flowId"], r["triggerId"]) == key)


@router.put("/triggers", summary="Disable a trigger, enable it again, or backfill a Schedule")
def update_trigger(body: TriggerUpdate, svc: Services = Depends(services)) -> dict[str, Any]:
    key = (body.namespace, body.flowId, body.triggerId)
    if body.backfill is not None:
        return _create_backfill(svc, key, body.backfill.model_dump())
    if body.disabled is None:
        raise ApiProblem(422, "give `disabled` (true or false) or a `backfill`",
                         hint='e.g. {"namespace": …, "flowId": …, "triggerId": …, "disabled": true}')
    return _set_disabled(svc, body.namespace, body.flowId, body.triggerId, body.disabled)


def _create_backfill(svc: Services, key: tuple[str, str, str], body: dict[str, Any]) -> dict[str, Any]:
    from lanner.errors import LannerError
    from lanner.runtime.backfills import BackfillError
    from lanner.runtime.scheduler import TriggerNotFound

    try:
        svc.scheduler.create_backfill(key, body)
    except TriggerNotFound as exc:
        raise not_found(str(exc)) from None
    except BackfillError as exc:
        raise ApiProblem(409 if "already has a backfill" in exc.message else 422, exc.message,
                         hint=exc.hint) from None
    except LannerError as exc:  # inputs the flow refuses
        raise from_lanner(exc) from None
    return _context(svc, key)


def _backfill_action(svc: Services, key: tuple[str, str, str], action: str) -> dict[str, Any]:
    """Pause, unpause or delete one trigger's backfill; 400 "no backfill" as Kestra answers."""
    from lanner.runtime.scheduler import NoBackfill

    if key not in {(r["namespace"], r["flowId"], r["triggerId"]) for r in svc.scheduler.list()}:
        raise not_found(f"trigger `{key[2]}` of flow `{key[0]}.{key[1]}`")
    try:
        if action == "delete":
            svc.scheduler.delete_backfill(key)
        else:
            svc.scheduler.pause_backfill(key, action == "pause")
    except NoBackfill as exc:
        raise ApiProblem(400, f"No backfill found: {exc}",
                         hint="start one with PUT /api/v1/triggers and a `backfill`") from None
    return _context(svc, key)


@router.put("/triggers/backfill/pause", summary="Pause a backfill")
def pause_backfill(body: TriggerKeys, svc: Services = Depends(services)) -> dict[str, Any]:
    return _backfill_action(svc, (body.namespace, body.flowId, body.triggerId), "pause")


@router.put("/triggers/backfill/unpause", summary="Unpause a backfill")
def unpause_backfill(body: TriggerKeys, svc: Services = Depends(services)) -> dict[str, Any]:
    return _backfill_action(svc, (body.namespace, body.flowId, body.triggerId), "unpause")


@router.post("/triggers/backfill/delete", summary="Delete a backfill (the executions it started stay)")
def delete_backfill(body: TriggerKeys, svc: Services = Depends(services)) -> dict[str, Any]:
    return _backfill_action(svc, (body.namespace, body.flowId, body.triggerId), "delete")


@router.post("/triggers/backfill/{action}/by-triggers", summary="Pause, unpause or delete several backfills",
             response_model=BulkResponse)
def backfills_by_triggers(action: str, body: list[TriggerKeys] = Body(..., max_length=10_000),
                          svc: Services = Depends(services)) -> dict[str, int]:
    """Kestra's bulk backfill actions: triggers without a backfill are passed over, not counted."""
    if action not in ("pause", "unpause", "delete"):
        raise not_found(f"backfill action `{action}`")
    count = 0
    for t in body:
        try:
            _backfill_action(svc, (t.namespace, t.flowId, t.triggerId), action)
        except ApiProblem as exc:
            if exc.status != 400:
                raise
            continue
        count += 1
    return {"count": count}


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
