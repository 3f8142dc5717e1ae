"""`POST /flows/{namespace}`: make a namespace hold exactly a set of flows (Kestra's
`updateFlowsInNamespace`, called by `kestra flow namespace update`, the Terraform provider and
CI deploy actions).

The body is several YAML documents separated by `---`. Every document is validated before
anything is written: one bad flow, a flow of another namespace or an id given twice refuses the
whole set (422, each problem at its line), so a deploy never leaves a half-updated namespace.
Then the flows of the namespace that are not in the set are deleted (unless `delete=false`), and
each flow of the set is created or updated (a new revision only when its source changed).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from lanner.errors import LannerError
from lanner.server import views
from lanner.server.problems import ApiProblem, error_items
from lanner.server.routes.flows import YAML_BODY, documents, services, yaml_text
from lanner.server.services import Services

router = APIRouter(tags=["Flows"])


def _checked(svc: Services, namespace: str, text: str) -> list[tuple[str, str]]:
    """(flow id, source) of each document, or a 422 listing every problem of the set."""
    problems: list[dict[str, Any]] = []
    out: list[tuple[str, str]] = []
    for offset, doc in documents(text):
        try:
            flow = svc.validate(doc)
        except LannerError as exc:
            for item in error_items(exc):
                if item["line"] is not None:
                    item["line"] += offset
                problems.append(item)
            continue
        where = {"line": offset + 1, "column": 1, "hint": None}
        if flow.namespace != namespace:
            problems.append({**where, "path": "namespace",
                             "message": f"flow `{flow.namespace}.{flow.id}` is not in namespace `{namespace}`",
                             "hint": f"set `namespace: {namespace}`, or send it to POST "
                                     f"/api/v1/flows/{flow.namespace}"})
        elif any(flow.id == seen for seen, _ in out):
            problems.append({**where, "path": "id", "message": f"flow id `{flow.id}` is given twice",
                             "hint": "keep one document per flow"})
        out.append((flow.id, doc.strip() + "\n"))
    if problems:
        for item in problems:
            item["text"] = (f"{item['line']}: " if item["line"] else "") + item["message"]
        raise ApiProblem(422, "; ".join(i["text"] for i in problems[:5]) + ("; …" if len(problems) > 5 else ""),
                         hint="nothing was changed: fix these and send the whole set again", errors=problems)
    return out


def update_namespace(svc: Services, namespace: str, text: str, delete: bool) -> list[dict[str, Any]]:
    """Kestra's answer: the deleted flows, then the created or updated ones."""
    wanted = _checked(svc, namespace, text)
    ids = {flow_id for flow_id, _ in wanted}
    answer = []
    if delete:
        for stored in svc.flow_store.all_latest():
            if stored.namespace == namespace and stored.id not in ids:
                svc.delete_flow(namespace, stored.id)
                gone = svc.flow_store.latest(namespace, stored.id, include_deleted=True)
                answer.append(views.flow_json(gone or stored))
    for flow_id, source in wanted:
        current = svc.flow_store.latest(namespace, flow_id)
        stored = current if current is not None and current.source == source else svc.save_flow(source)
        answer.append(views.flow_json(stored))
    return answer


@router.post("/flows/{namespace}", summary="Make a namespace hold exactly these flows (YAML documents split by ---)",
             openapi_extra=YAML_BODY)
async def update_flows_in_namespace(namespace: str, request: Request, delete: bool = True,
                                    svc: Services = Depends(services)) -> list[dict[str, Any]]:
    text = await yaml_text(request, svc.settings.max_yaml_bytes)
    return await run_in_threadpool(update_namespace, svc, namespace, text, delete)
