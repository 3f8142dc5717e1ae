"""`POST /flows/validate/task`: check one task or trigger as the flow editor sends it.

Kestra's editor validates the block under the cursor with this route. Lanner checks it the only
way it checks anything, inside a flow: the block is placed, indented, as the single entry of a
small flow's `tasks` (or `triggers`), and the problems found are moved back to the block's own
lines and columns.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from lanner.errors import LannerError
from lanner.server.problems import ApiProblem, error_items
from lanner.server.routes.flows import YAML_BODY, services, yaml_text
from lanner.server.schemas import ValidateResult
from lanner.server.services import Services

router = APIRouter(tags=["Flows"])
SECTIONS = ("TASKS", "TRIGGERS")
INDENT = 4
PLACEHOLDER_TASK = "tasks:\n  - {id: lanner_placeholder, type: io.kestra.plugin.core.log.Log, message: x}\n"


def _wrapped(block: str, section: str) -> str:
    head = f"id: validate_block\nnamespace: lanner.validate\n{section.lower()}:\n  -\n"
    body = "".join(" " * INDENT + line + "\n" for line in block.splitlines())
    return head + body + (PLACEHOLDER_TASK if section == "TRIGGERS" else "")


def validate_block(svc: Services, block: str, section: str) -> dict[str, Any]:
    """Kestra's ValidateConstraintViolation for one block, errors at the block's own positions."""
    result: dict[str, Any] = {"index": 0, "flow": None, "namespace": None, "constraints": None, "outdated": False,
                              "deprecationPaths": [], "warnings": [], "infos": [], "errors": []}
    try:
        svc.validate(_wrapped(block, section))
    except LannerError as exc:
        items = error_items(exc)
        for item in items:
            if item["line"] is not None:
                item["line"] -= 4
                item["column"] = max(1, (item["column"] or INDENT + 1) - INDENT)
            prefix = f"{item['line']}:{item['column']}: " if item["line"] is not None else ""
            item["text"] = prefix + item["message"] + (f"; {item['hint']}" if item["hint"] else "")
        result["errors"] = items
        result["constraints"] = "\n".join(i["text"] for i in items)
    return result


@router.post("/flows/validate/task", summary="Validate one task (or trigger, ?section=TRIGGERS)",
             response_model=ValidateResult, openapi_extra=YAML_BODY)
async def validate_task(request: Request, section: str = "TASKS", svc: Services = Depends(services)) -> dict[str, Any]:
    if section.upper() not in SECTIONS:
        raise ApiProblem(400, f"section=`{section[:40]}` is not a section",
                         hint="use section=TASKS or section=TRIGGERS")
    text = await yaml_text(request, svc.settings.max_yaml_bytes)
    return await run_in_threadpool(validate_block, svc, text, section.upper())
