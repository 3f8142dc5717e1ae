"""Bulk restart and bulk labels, by ids or by query (Kestra's ExecutionController `restart/by-ids`,
`restart/by-query`, `labels/by-ids`, `labels/by-query`), answered with Kestra's BulkResponse.

As with bulk delete and kill (`execution_edits.py`), a request by ids is all or nothing: when any
id cannot be acted on, the answer is 422 with every refused id and nothing is done. A request by
query acts on the executions the search finds that can be acted on, and counts them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from lanner.model.state import StateType
from lanner.server import execution_changes
from lanner.server.problems import ApiProblem
from lanner.server.routes.execution_edits import IDS, ended_matching
from lanner.server.routes.executions import execution_filter, services
from lanner.server.schemas import BulkResponse, Label
from lanner.server.services import Services
from lanner.storage.execution_queries import ExecutionFilter

router = APIRouter(tags=["Executions"])
RESTARTABLE = (StateType.FAILED.value, StateType.KILLED.value)
LABELS = Body(..., max_length=100, description="the labels to add or replace")


class LabelsByIds(BaseModel):
    """Kestra's body of `labels/by-ids`."""

    executionsId: list[str] = Field(max_length=10_000)
    executionLabels: list[Label] = Field(max_length=100)


def _restart_all(svc: Services, execution_ids: list[str], skip_refused: bool) -> int:
    """Restart each; by query, one that cannot restart (no failed task run, its flow revision
    gone) is skipped and not counted, as Kestra's by-query skips what it cannot act on."""
    count = 0
    for execution_id in dict.fromkeys(execution_ids):
        try:
            svc.restart(execution_id)
        except ApiProblem:
            if not skip_refused:
                raise
            continue
        count += 1
    return count


def _label_all(svc: Services, execution_ids: list[str], labels: list[Label]) -> int:
    """Add the labels to each execution, replacing a label of the same key (Kestra's bulk
    labels add; they do not remove the others)."""
    unique = list(dict.fromkeys(execution_ids))
    for execution_id in unique:
        exe = svc.execution(execution_id)
        merged = {k: v for k, v in exe.labels.items() if not k.startswith(execution_changes.SYSTEM)}
        merged.update({lb.key: lb.value for lb in labels})
        execution_changes.set_labels(svc, execution_id, merged.items())
    return len(unique)


def _check_labels(labels: list[Label]) -> None:
    for lb in labels:  # refused before any execution changes, not halfway through
        if not lb.key.strip() or lb.key.startswith(execution_changes.SYSTEM):
            raise ApiProblem(422, f"label `{lb.key[:60]}` cannot be set",
                             hint=f"use a non-empty key that does not start with `{execution_changes.SYSTEM}`")


@router.post("/executions/restart/by-ids", summary="Restart FAILED or KILLED executions by id",
             response_model=BulkResponse)
async def restart_by_ids(execution_ids: list[str] = IDS, svc: Services = Depends(services)) -> dict[str, int]:
    def act() -> int:
        execution_changes.refuse_invalid(svc, execution_ids, "restart", running_ok=False, allowed=RESTARTABLE)
        return _restart_all(svc, execution_ids, skip_refused=False)
    return {"count": await run_in_threadpool(act)}


@router.post("/executions/restart/by-query", summary="Restart the FAILED or KILLED executions a search finds",
             response_model=BulkResponse)
async def restart_by_query(f: ExecutionFilter = Depends(execution_filter),
                           svc: Services = Depends(services)) -> dict[str, int]:
    def act() -> int:
        return _restart_all(svc, ended_matching(svc, f, RESTARTABLE), skip_refused=True)
    return {"count": await run_in_threadpool(act)}


@router.post("/executions/labels/by-ids", summary="Add labels to ended executions by id",
             response_model=BulkResponse)
async def labels_by_ids(body: LabelsByIds, svc: Services = Depends(services)) -> dict[str, int]:
    def act() -> int:
        _check_labels(body.executionLabels)
        execution_changes.refuse_invalid(svc, body.executionsId, "labels", running_ok=False)
        return _label_all(svc, body.executionsId, body.executionLabels)
    return {"count": await run_in_threadpool(act)}


@router.post("/executions/labels/by-query", summary="Add labels to the ended executions a search finds",
             response_model=BulkResponse)
async def labels_by_query(chosen: list[Label] = LABELS, f: ExecutionFilter = Depends(execution_filter),
                          svc: Services = Depends(services)) -> dict[str, Any]:
    def act() -> int:
        _check_labels(chosen)
        return _label_all(svc, ended_matching(svc, f), chosen)
    return {"count": await run_in_threadpool(act)}
