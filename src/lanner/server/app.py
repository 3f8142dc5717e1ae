"""The ASGI application: API routes under /api/v1 (and /api/v1/{tenant}), the OpenAPI document,
the web UI as static files, and the guards around them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from lanner.server import problems
from lanner.server.identifiers import check_path
from lanner.server.middleware import BodyTooLarge, Guard
from lanner.server.query_check import check_query
from lanner.server.services import Services
from lanner.server.settings import ServerSettings

UI_DIR = Path(__file__).parent / "ui"
API = "/api/v1"


def build_app(settings: ServerSettings, services: Services | None = None, start: bool = True) -> Any:
    """The app wrapped in its guards. `services` defaults to a new one on the configured store."""
    from lanner import __version__
    from lanner.server.routes import (
        approvals,
        execution_bulk,
        execution_edits,
        execution_files,
        executions,
        flow_graph,
        flow_transfer,
        flows,
        kv,
        logs,
        misc,
        namespace_files,
        namespace_flows,
        namespaces,
        plugins,
        stats,
        task_validation,
        triggers,
    )

    svc = services or Services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if start:
            svc.start()
        try:
            yield
        finally:
            if start:
                svc.stop()

    app = FastAPI(title="Lanner", version=__version__, lifespan=lifespan, openapi_url=f"{API}/openapi.json",
                  docs_url=None, redoc_url=None,
                  description="Kestra-compatible REST API of Lanner: flows, executions, logs, plugins, triggers.")
    app.state.services = svc
    problems.install(app)

    async def ontoo_large(_request: Any, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BodyTooLarge)  # Starlette calls this handler for BodyTooLarge only
        return JSONResponse(exc.problem.body(), status_code=413, media_type=problems.MEDIA_TYPE)

    app.add_exception_handler(BodyTooLarge, ontoo_large)
    checked = [Depends(check_path), Depends(check_query)]
    # Routes with a fixed word where another route has a parameter come first: `POST
    # /flows/validate` before `POST /flows/{namespace}`, and `…/executions/{id}/<word>` before
    # `POST /executions/{namespace}/{flow_id}`.
    modules = (flow_transfer, flows, flow_graph, task_validation, namespace_flows, execution_files,
               execution_bulk, execution_edits,
               approvals, executions, logs, plugins, kv, misc, namespace_files, triggers, stats, namespaces)
    for module in modules:
        app.include_router(module.router, prefix=API, dependencies=checked)
    for module in modules:
        app.include_router(module.router, prefix=API + "/{tenant}", include_in_schema=False, dependencies=checked)
    app.include_router(misc.health)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    app.mount("/ui", StaticFiles(directory=UI_DIR, html=True), name="ui")
    return Guard(app, settings)
