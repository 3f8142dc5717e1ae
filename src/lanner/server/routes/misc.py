"""Configuration and the health check (triggers are in `triggers.py`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from lanner.server.dependencies import services
from lanner.server.schemas import ServerConfig
from lanner.server.services import Services

router = APIRouter()


@router.get("/configs", tags=["Misc"], summary="Server configuration", response_model=ServerConfig)
def configs(svc: Services = Depends(services)) -> dict[str, Any]:
    from lanner import __version__

    return {"version": __version__, "isBasicAuthEnabled": svc.settings.auth is not None,
            "resumedExecutions": svc.resumed}


health = APIRouter()


@health.get("/ping", tags=["Misc"], response_class=PlainTextResponse, summary="Health check")
async def ping() -> str:  # on the event loop, so it answers even when every route thread is busy
    return "pong"
