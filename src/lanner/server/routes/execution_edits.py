"""Execution changes beyond create/kill/restart: replay, labels, a manual status, and bulk delete
and kill by ids or by query (Kestra's ExecutionController, its BulkResponse `{count}` answers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from starlette.concurrency import run_in_threadpool

from lanner.model.state import StateType
from lanner.server import execution_changes, replay, views
from lanner.server.routes.executions import execution_filter, services
from lanner.server.schemas import BulkResponse, Label
from lanner.server.services import Services
from lanner.storage.execution_queries import ExecutionFilter

router = APIRouter(tags=["Executions"])
IDS = Body(..., description="execution ids", max_length=10_000)
BY_QUERY_LIMIT = 10_000  # executions one by-query call acts on; call again for more


def _answer(svc: Services, execution_id: str) -> dict[str, Any]:
    exe = svc.execution(execution_id)
    return views.execution_json(exe, svc.flow_of(exe))


@router.post("/executions/{execution_id}/labels", summary="Set the labels of an ended execution")
async def set_labels(execution_id: str, labels: list[Label], svc: Services = Depends(services)) -> dict[str, Any]:
    await run_in_threadpool(execution_changes.set_labels, svc, execution_id, [(lb.key, lb.value) for lb in labels])
    return await run_in_threadpool(_answer, svc, execution_id)


@router.post("/executions/{execution_id}/change-status", summary="Set the status of an ended execution by hand")
async def change_status(execution_id: str, status: str = Query(...),
                        svc: Services = Depends(services)) -> dict[str, Any]:
    await run_in_threadpool(execution_changes.change_status, svc, execution_id, status)
    return await run_in_threadpool(_answer, svc, execution_id)


@router.post("/executions/{execution_id}/replay",
             summary="Run an ended execution again as a new one, whole or from a top-level task run")
async def replay_execution(execution_id: str, taskRunId: str | None = None,
                           svc: Services = Depends(services)) -> dict[str, Any]:
    fresh = await run_in_threadpool(replay.replay, svc, execution_id, taskRunId)
    return await run_in_threadpool(_answer, svc, fresh.id)


@router.delete("/executions/by-ids", summary="Delete ended executions by id", response_model=BulkResponse)
def delete_by_ids(execution_ids: list[str] = IDS, deleteLogs: bool = True, deleteMetrics: bool = True,
                  deleteStorage: bool = True, svc: Services = Depends(services)) -> dict[str, int]:
    """`deleteMetrics` is accepted for Kestra's clients: Lanner keeps no metrics to delete."""
    return {"count": execution_changes.delete_many(svc, execution_ids, deleteLogs, deleteStorage)}


@router.delete("/executions/kill/by-ids", summary="Kill running executions by id (finally blocks still run)",
               response_model=BulkResponse)
def kill_by_ids(execution_ids: list[str] = IDS, svc: Services = Depends(services)) -> dict[str, int]:
    return {"count": execution_changes.kill_many(svc, execution_ids)}


def ended_matching(svc: Services, f: ExecutionFilter, allowed: tuple[str, ...] | None = None) -> list[str]:
    """The ids a search finds (at most BY_QUERY_LIMIT) of executions that have ended — in one of the
    `allowed` states when given — and that no executor is still finishing."""
    found, _ = svc.queries.search(f, 1, BY_QUERY_LIMIT, with_task_runs=False)
    return [e.id for e in found if e.id not in svc.runtime.live
            and ((e.state.current.value in allowed) if allowed else e.state.current.terminated)]


@router.delete("/executions/by-query", summary="Delete the ended executions a search finds",
               response_model=BulkResponse)
def delete_by_query(f: ExecutionFilter = Depends(execution_filter), deleteLogs: bool = True,
                    deleteMetrics: bool = True, deleteStorage: bool = True,
                    svc: Services = Depends(services)) -> dict[str, int]:
    return {"count": execution_changes.delete_many(svc, ended_matching(svc, f), deleteLogs, deleteStorage)}


@router.delete("/executions/kill/by-query", summary="Kill the running executions a search finds",
               response_model=BulkResponse)
def kill_by_query(f: ExecutionFilter = Depends(execution_filter), svc: Services = Depends(services)) -> dict[str, int]:
    # An execution already KILLING (a kill was asked, its `finally` may still run) is not counted
    # again: the count says how many this call killed, whatever the kill before it left running.
    found, _ = svc.queries.search(f, 1, BY_QUERY_LIMIT, with_task_runs=False)
    running = [e.id for e in found if not e.state.current.terminated and e.state.current is not StateType.KILLING]
    return {"count": execution_changes.kill_many(svc, running)}
