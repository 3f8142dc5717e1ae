"""`GET /flows/{namespace}/{id}/graph`: the flow's topology in Kestra's FlowGraph shape."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from lanner.server.flow_graph import flow_graph
from lanner.server.routes.flows import services
from lanner.server.services import Services

router = APIRouter(tags=["Flows"])


@router.get("/flows/{namespace}/{flow_id}/graph", summary="The flow's tasks as a graph (nodes, edges, clusters)")
def graph(namespace: str, flow_id: str, revision: int | None = Query(None, ge=1),
          svc: Services = Depends(services)) -> dict[str, Any]:
    return flow_graph(svc.flow(namespace, flow_id, revision))
