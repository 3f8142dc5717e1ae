"""Files of one execution: download, size, preview (Kestra's ExecutionController `/file…`).

A caller names a file by the `kestra:///…` URI a task output or a FILE input gave. The URI is
checked before any file is opened: it must be under this execution's own folder
(`<namespace folders>/<flowId>/executions/<id>/`), with no `..`, backslash or control
character, and what it resolves to (symbolic links followed) must still lie in that folder. So
one execution's id never reads another execution's files, nor anything else on the disk.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from lanner.model.execution import Execution
from lanner.server.dependencies import services
from lanner.server.problems import ApiProblem
from lanner.server.services import Services

router = APIRouter(tags=["Executions"])
SCHEME = "kestra:///"
PREVIEW_BYTES = 1024 * 1024  # a preview reads at most this much of a file, whatever maxRows says
PATH_QUERY = Query(..., description="the file's internal-storage URI, e.g. kestra:///company/team/flow/executions/…")


def execution_file(svc: Services, exe: Execution, uri: str) -> Path:
    """The file `uri` names, refused (422) unless it is a file of `exe`, or 404 when missing."""
    folders = [p for p in exe.namespace.split(".") if p] + [exe.flow_id, "executions", exe.id]
    if not uri.startswith(SCHEME):
        raise ApiProblem(422, f"path `{uri[:200]}` is not an internal-storage URI",
                         hint=f"give the kestra:///… URI of a file of execution {exe.id}, as its outputs show it")
    parts = uri[len(SCHEME):].split("/")
    bad = [p for p in parts if p in ("", ".", "..") or "\\" in p or any(ord(c) < 32 for c in p)]
    if bad or parts[:len(folders)] != folders or len(parts) <= len(folders):
        raise ApiProblem(422, f"path `{uri[:200]}` is not a file of execution {exe.id}",
                         hint=f"files of this execution start with {SCHEME}{'/'.join(folders)}/")
    root = svc.files.root.resolve()
    folder = root.joinpath(*folders).resolve()
    target = root.joinpath(*parts).resolve()
    if not folder.is_relative_to(root) or not target.is_relative_to(folder):  # a symbolic link leads out
        raise ApiProblem(422, f"path `{uri[:200]}` leads outside the files of execution {exe.id}",
                         hint="give the URI of a file the execution wrote, not of a link")
    if not target.is_file():
        raise ApiProblem(404, f"no file at `{uri[:200]}` in execution {exe.id}",
                         hint="the file may have been purged; check the execution's outputs")
    return target


@router.get("/executions/{execution_id}/file", summary="Download a file of an execution")
def download(execution_id: str, path: str = PATH_QUERY, svc: Services = Depends(services)) -> FileResponse:
    target = execution_file(svc, svc.execution(execution_id), path)
    return FileResponse(target, filename=target.name, media_type="application/octet-stream")


@router.get("/executions/{execution_id}/file/metas", summary="The size of a file of an execution")
def metas(execution_id: str, path: str = PATH_QUERY, svc: Services = Depends(services)) -> dict[str, Any]:
    target = execution_file(svc, svc.execution(execution_id), path)
    return {"size": target.stat().st_size}


@router.get("/executions/{execution_id}/file/preview", summary="The first rows or lines of a file of an execution")
def preview(execution_id: str, path: str = PATH_QUERY, maxRows: int = Query(100, ge=1, le=10_000),
            encoding: str = "UTF-8", svc: Services = Depends(services)) -> dict[str, Any]:
    """Kestra's FileRender: `.ion` files as a LIST of rows, anything else as TEXT lines, decoded
    with `encoding`; `truncated` says whether rows (or bytes) were left out."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise ApiProblem(422, f"encoding `{encoding[:40]}` is not known",
                         hint="give e.g. encoding=UTF-8, ISO-8859-1 or windows-1252") from None
    target = execution_file(svc, svc.execution(execution_id), path)
    with target.open("rb") as f:
        head = f.read(PREVIEW_BYTES + 1)
    cut = len(head) > PREVIEW_BYTES
    lines = head[:PREVIEW_BYTES].decode(codec, errors="replace").splitlines()
    if cut and lines:
        lines.pop()  # the last line read may be partial
    truncated = cut or len(lines) > maxRows
    lines = lines[:maxRows]
    extension = target.suffix.lstrip(".").lower()
    if extension == "ion":
        return {"extension": extension, "type": "LIST", "content": [_row(line) for line in lines if line.strip()],
                "truncated": truncated}
    return {"extension": extension, "type": "TEXT", "content": "\n".join(lines), "truncated": truncated}


def _row(line: str) -> Any:
    """One Ion line as JSON-ready data (the line itself when it does not parse)."""
    from lanner.errors import LannerError
    from lanner.expr.ion import from_ion

    try:
        return json.loads(json.dumps(from_ion(line), default=str))
    except (LannerError, ValueError):
        return line
