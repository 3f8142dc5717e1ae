"""The namespaces (Kestra's NamespaceController): search, one namespace, and the ids of all.

Kestra lists the namespaces of flows with their parents; Lanner adds those that hold namespace
files or KV keys (a namespace filled by `lanner namespace files update` before any flow is
deployed is still shown). Each result carries Kestra's `id` and `deleted`, and the counts of
what the namespace holds (`flowCount`, `fileCount`, `kvCount`) for the UI's list.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from lanner.server import params
from lanner.server.namespaces import all_namespaces, summaries
from lanner.server.routes.flows import services
from lanner.server.schemas import PagedResults
from lanner.server.services import Services

router = APIRouter(tags=["Namespaces"])


def _search(svc: Services, q: str | None, page: int, size: int, sort: str | None) -> dict[str, Any]:
    found = all_namespaces(svc)
    if q:
        needle = q.lower()
        found = [ns for ns in found if needle in ns.lower()]
    checked = params.sort(sort, ["id"])
    if checked == "id:desc":
        found.reverse()
    chosen = found[(page - 1) * size: page * size]
    return {"results": [s.as_json() for s in summaries(svc, chosen)], "total": len(found)}


@router.get("/namespaces/search", summary="Search the namespaces (those of flows, files and KV keys, and parents)",
            response_model=PagedResults)
async def search_namespaces(q: str | None = Query(None, max_length=150), page: int = Query(1, ge=1),
                            size: int = Query(10, ge=1, le=1000), sort: str | None = None,
                            existing: bool = False, svc: Services = Depends(services)) -> dict[str, Any]:
    # `existing` (only namespaces created as such) changes nothing: Lanner's namespaces all exist
    # through what they hold, as in Kestra's open-source edition.
    del existing
    return await run_in_threadpool(_search, svc, q, page, size, sort)


@router.get("/namespaces/ids", summary="The ids of every namespace")
async def namespace_ids(resource: str | None = Query(None, max_length=100),
                        svc: Services = Depends(services)) -> list[str]:
    del resource  # Kestra's Enterprise permission scope; with no permissions every namespace is listed
    return await run_in_threadpool(all_namespaces, svc)


@router.get("/namespaces/{namespace}", summary="A namespace and the counts of what it holds")
async def get_namespace(namespace: str, svc: Services = Depends(services)) -> dict[str, Any]:
    found = await run_in_threadpool(summaries, svc, [namespace])
    return found[0].as_json()
