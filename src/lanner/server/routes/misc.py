"""Triggers (list, enable/disable), configuration, and the health check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from lanner.server.problems import not_found
from lanner.server.schemas import PagedResults, ServerConfig, TriggerUpdate
from lanner.server.services import Services

router = APIRouter()


def services(request: Request) -> Services:
    return request.app.state.services


@router.get("/triggers/search", tags=["Triggers"], summary="The triggers of the stored flows and their state",
            response_model=PagedResults)
def search_triggers(page: int = Query(1, ge=1), size: int = Query(100, ge=1, le=1000), namespace: str | None = None,
                    flowId: str | None = None, svc: Services = Depends(services)) -> dict[str, Any]:
    rows = svc.scheduler.list()
    if namespace:
        rows = [r for r in rows if r["namespace"] == namespace or r["namespace"].startswith(namespace + ".")]
    if flowId:
        rows = [r for r in rows if r["flowId"] == flowId]
    return {"results": rows[(page - 1) * size: page * size], "total": len(rows)}


@router.put("/triggers", tags=["Triggers"], summary="Disable a trigger, or enable it again")
def update_trigger(body: TriggerUpdate, svc: Services = Depends(services)) -> dict[str, Any]:
    known = {(r["namespace"], r["flowId"], r["triggerId"]) for r in svc.scheduler.list()}
    key = (body.namespace, body.flowId, body.triggerId)
    if key not in known:
        raise not_found(f"trigger `{body.triggerId}` of flow `{body.namespace}.{body.flowId}`")
    state = svc.scheduler.set_disabled(key, body.disabled)
    return {"namespace": body.namespace, "flowId": body.flowId, "triggerId": body.triggerId,
            "disabled": bool(state.get("disabled"))}


@router.get("/configs", tags=["Misc"], summary="Server configuration", response_model=ServerConfig)
def configs(svc: Services = Depends(services)) -> dict[str, Any]:
    from lanner import __version__

    return {"version": __version__, "isBasicAuthEnabled": svc.settings.auth is not None,
            "resumedExecutions": svc.resumed}


health = APIRouter()


@health.get("/ping", tags=["Misc"], response_class=PlainTextResponse, summary="Health check")
async def ping() -> str:  # on the event loop, so it answers even when every route thread is busy
    return "pong"
