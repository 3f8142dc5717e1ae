"""Flows: create and update from YAML, read, search, revisions, delete, validate (Kestra's FlowController)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from lanner.errors import LannerError
from lanner.server import params, views
from lanner.server.dependencies import services
from lanner.server.problems import ApiProblem, error_items, not_found
from lanner.server.schemas import PagedResults, ValidateResult
from lanner.server.services import Services

router = APIRouter(tags=["Flows"])
YAML_BODY = {"requestBody": {"content": {"application/x-yaml": {"schema": {"type": "string"}}}, "required": True}}


async def yaml_text(request: Request, limit: int) -> str:
    body = await request.body()
    if len(body) > limit:
        raise ApiProblem(413, f"the flow is larger than {limit} bytes", hint="split it into subflows")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(400, "the body is not UTF-8 text", hint="send the flow's YAML as UTF-8") from None


@router.post("/flows", summary="Create a flow from its YAML source", openapi_extra=YAML_BODY)
async def create_flow(request: Request, svc: Services = Depends(services)) -> dict[str, Any]:
    text = await yaml_text(request, svc.settings.max_yaml_bytes)
    stored = await run_in_threadpool(svc.save_flow, text, None, True)
    return views.flow_json(stored)


@router.post("/flows/validate", summary="Validate flows (several YAML documents separated by ---)",
             response_model=list[ValidateResult], openapi_extra=YAML_BODY)
async def validate_flows(request: Request, svc: Services = Depends(services)) -> list[dict[str, Any]]:
    text = await yaml_text(request, svc.settings.max_yaml_bytes)
    return await run_in_threadpool(_validate_all, svc, text)


def _validate_all(svc: Services, text: str) -> list[dict[str, Any]]:
    from lanner.loading.inputs import deprecations

    out = []
    for index, (offset, doc) in enumerate(documents(text)):
        result: dict[str, Any] = {"index": index, "outdated": False, "deprecationPaths": [], "warnings": [],
                                  "infos": [], "flow": None, "namespace": None, "constraints": None, "errors": []}
        try:
            flow = svc.validate(doc)
            result.update(flow=flow.id, namespace=flow.namespace,
                          deprecationPaths=[d.where.path for d in deprecations(flow)])
            latest = svc.flow_store.latest_revision_number(flow.namespace, flow.id)
            if latest is not None and flow.revision is not None and flow.revision < latest:
                result["outdated"] = True
        except LannerError as exc:
            items = error_items(exc)
            for item in items:
                if item["line"] is not None:
                    item["line"] += offset
            result["errors"] = items
            result["constraints"] = "\n".join(i["text"] for i in items)
        out.append(result)
    return out


def documents(text: str) -> list[tuple[int, str]]:
    """YAML documents split at `---` lines, each with the number of lines before it."""
    docs: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for i, line in enumerate(text.splitlines(keepends=True)):
        if line.rstrip() == "---":
            if "".join(current).strip():
                docs.append((start, "".join(current)))
            current, start = [], i + 1
        else:
            current.append(line)
    if "".join(current).strip() or not docs:
        docs.append((start, "".join(current)))
    return docs


@router.get("/flows/search", summary="Search flows", response_model=PagedResults)
def search_flows(page: int = Query(1, ge=1), size: int = Query(25, ge=1, le=1000), q: str | None = None,
                 namespace: str | None = None, sort: str | None = None,
                 svc: Services = Depends(services)) -> dict[str, Any]:
    flows = svc.flow_store.all_latest()
    if namespace:
        flows = [f for f in flows if f.namespace == namespace or f.namespace.startswith(namespace + ".")]
    if q:
        needle = q.lower()
        flows = [f for f in flows if needle in f.id.lower() or needle in f.namespace.lower()]
    keys = {"id": lambda f: f.id, "namespace": lambda f: f.namespace, "updated": lambda f: f.updated,
            "revision": lambda f: f.revision}
    checked = params.sort(sort, keys)
    if checked:
        field, _, direction = checked.partition(":")
        flows.sort(key=keys[field], reverse=direction == "desc")
    total = len(flows)
    chosen = flows[(page - 1) * size: page * size]
    return {"results": [views.flow_json(f, source=False) for f in chosen], "total": total}


@router.get("/flows/distinct-namespaces", summary="The namespaces that hold flows")
def namespaces(svc: Services = Depends(services)) -> list[str]:
    return svc.flow_store.namespaces()


@router.get("/flows/{namespace}", summary="The flows of one namespace")
def flows_of_namespace(namespace: str, svc: Services = Depends(services)) -> list[dict[str, Any]]:
    return [views.flow_json(f, source=False) for f in svc.flow_store.all_latest() if f.namespace == namespace]


@router.get("/flows/{namespace}/{flow_id}", summary="Get a flow (latest revision, or ?revision=N)")
def get_flow(namespace: str, flow_id: str, revision: int | None = Query(None, ge=1), source: bool = True,
             allowDeleted: bool = False, svc: Services = Depends(services)) -> dict[str, Any]:
    if revision is not None:
        stored = svc.flow_store.revision(namespace, flow_id, revision)
        if stored is not None and stored.deleted and not allowDeleted:
            stored = None
    else:
        stored = svc.flow_store.latest(namespace, flow_id, include_deleted=allowDeleted)
    if stored is None:
        raise not_found(f"flow `{namespace}.{flow_id}`" + (f" revision {revision}" if revision else ""))
    return views.flow_json(stored, source=source)


@router.put("/flows/{namespace}/{flow_id}", summary="Update a flow from its YAML source", openapi_extra=YAML_BODY)
async def update_flow(namespace: str, flow_id: str, request: Request,
                      svc: Services = Depends(services)) -> dict[str, Any]:
    text = await yaml_text(request, svc.settings.max_yaml_bytes)
    stored = await run_in_threadpool(svc.save_flow, text, (namespace, flow_id), False)
    return views.flow_json(stored)


@router.delete("/flows/{namespace}/{flow_id}", status_code=204, summary="Delete a flow (its executions stay)")
def delete_flow(namespace: str, flow_id: str, svc: Services = Depends(services)) -> Response:
    svc.delete_flow(namespace, flow_id)
    return Response(status_code=204)


@router.get("/flows/{namespace}/{flow_id}/revisions", summary="Every revision of a flow")
def revisions(namespace: str, flow_id: str, svc: Services = Depends(services)) -> list[dict[str, Any]]:
    found = svc.flow_store.revisions(namespace, flow_id)
    if not found:
        raise not_found(f"flow `{namespace}.{flow_id}`")
    return [views.flow_json(f) for f in found]
