"""Deciding a waiting Approval: `POST /executions/{id}/actions/approve` and `…/actions/deny`.

The body is a JSON object (`comment`, `inputs` — the Approval's declared fields —, `taskRunId`
when several Approvals wait); the decision is checked before it is sent, as a resume's values are
(`Services.decide`), and who decides is the signed-in user (`outputs.<approval>.by`). Only JSON is
taken: the middleware refuses form and text bodies here (not an upload route), so a cross-site
form cannot decide. The `actions/` segment keeps these apart from `POST /executions/{namespace}/
{flowId}`, so a flow named `approve` or `deny` can still be started.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from lanner.server.dependencies import services
from lanner.server.services import Services

router = APIRouter(tags=["Executions"])


class DecisionBody(BaseModel):
    """What a reviewer sends with a decision."""

    model_config = ConfigDict(extra="forbid")

    comment: str | None = None
    inputs: dict[str, Any] = {}
    taskRunId: str | None = None


async def _decide(execution_id: str, decision: str, body: DecisionBody | None, request: Request,
                  svc: Services) -> Response:
    from lanner.server.resumes import resumed_by

    given = body or DecisionBody()
    await run_in_threadpool(svc.decide, execution_id, decision, given.comment, given.inputs, given.taskRunId,
                            resumed_by(request.headers.get("authorization")))
    return Response(status_code=204)


@router.post("/executions/{execution_id}/actions/approve", status_code=204, summary="Approve a waiting Approval")
async def approve(execution_id: str, request: Request, body: DecisionBody | None = None,
                  svc: Services = Depends(services)) -> Response:
    """Its `onApprove` tasks run, then `approveBehavior` (CONTINUE by default)."""
    return await _decide(execution_id, "APPROVED", body, request, svc)


@router.post("/executions/{execution_id}/actions/deny", status_code=204, summary="Deny a waiting Approval")
async def deny(execution_id: str, request: Request, body: DecisionBody | None = None,
               svc: Services = Depends(services)) -> Response:
    """Its `onDeny` tasks run, then `denyBehavior` (CANCEL by default)."""
    return await _decide(execution_id, "DENIED", body, request, svc)
