"""Logs of an execution: list with filters, follow live (SSE), download as text (Kestra's LogController)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from lanner.model.results import LEVEL_RANK
from lanner.server import params, sse, views
from lanner.server.dependencies import services
from lanner.server.problems import ApiProblem
from lanner.server.schemas import PagedResults
from lanner.server.services import Services
from lanner.storage.execution_queries import LogFilter

router = APIRouter(tags=["Logs"])


def _level(value: str | None) -> str | None:
    if value is None:
        return None
    if value.upper() not in LEVEL_RANK:
        raise ApiProblem(422, f"unknown log level `{value}`", hint="use one of " + ", ".join(LEVEL_RANK))
    return value.upper()


@router.get("/logs/search", summary="Search logs across executions", response_model=PagedResults)
def search(page: int = Query(1, ge=1), size: int = Query(25, ge=1, le=1000), q: str | None = None,
           namespace: str | None = None, flowId: str | None = None, executionId: str | None = None,
           minLevel: str | None = None, startDate: str | None = None, endDate: str | None = None,
           sort: str | None = None, svc: Services = Depends(services)) -> dict[str, Any]:
    """Kestra's PagedResults of LogEntry, newest first unless `sort=timestamp:asc`. Each line is
    masked with the secrets of its own execution, as the per-execution log routes do."""
    order = params.sort(sort, ("timestamp",))
    f = LogFilter(q=q, namespace=namespace, flow_id=flowId, execution_id=executionId, min_level=_level(minLevel),
                  start_date=params.instant("startDate", startDate), end_date=params.instant("endDate", endDate))
    rows, total = svc.queries.search_logs(f, page, size, newest_first=order != "timestamp:asc")
    secrets: dict[str, tuple[str, ...]] = {}
    out = []
    for row, namespace_of, flow_of in rows:
        exe_id = row["execution_id"]
        if exe_id not in secrets:
            exe = svc.queries.get(exe_id)
            secrets[exe_id] = views.log_secrets(svc.flow_of(exe) if exe else None, exe)
        line = views.log_json(row, None, secrets[exe_id])
        line.update(namespace=namespace_of, flowId=flow_of)
        out.append(line)
    return {"results": out, "total": total}


@router.get("/logs/{execution_id}", summary="The logs of an execution")
def logs(execution_id: str, minLevel: str | None = None, taskRunId: str | None = None, taskId: str | None = None,
         attempt: int | None = Query(None, ge=1), svc: Services = Depends(services)) -> list[dict[str, Any]]:
    exe = svc.execution(execution_id)
    secrets = views.log_secrets(svc.flow_of(exe), exe)
    rows = svc.queries.logs(execution_id, _level(minLevel), task_id=taskId, task_run_id=taskRunId, attempt=attempt)
    return [views.log_json(r, exe, secrets) for r in rows]


@router.get("/logs/{execution_id}/follow", summary="Follow the logs of an execution (server-sent events)")
async def follow(execution_id: str, request: Request, minLevel: str | None = None,
                 svc: Services = Depends(services)) -> Any:
    level = _level(minLevel)
    if not svc.queries.exists(execution_id):
        raise ApiProblem(404, f"execution `{execution_id}` was not found")
    return sse.stream(sse.follow_logs(svc, execution_id, level, request.is_disconnected))


@router.get("/logs/{execution_id}/download", summary="Download the logs of an execution as text",
            response_class=PlainTextResponse)
def download(execution_id: str, minLevel: str | None = None, taskRunId: str | None = None,
             taskId: str | None = None, svc: Services = Depends(services)) -> PlainTextResponse:
    exe = svc.execution(execution_id)
    secrets = views.log_secrets(svc.flow_of(exe), exe)
    rows = svc.queries.logs(execution_id, _level(minLevel), task_id=taskId, task_run_id=taskRunId)
    text = "".join(views.log_line(r, secrets) for r in rows)
    return PlainTextResponse(text, headers={"Content-Disposition": f'attachment; filename="{execution_id}.log"'})
