"""Flow import and export (Kestra's `/flows/import`, `/flows/export/by-ids|by-query`).

Import takes the multipart field `fileUpload`: a YAML file of one or more flows (documents split
by `---`) or a zip of `.yml`/`.yaml` files. Each flow is created or updated on its own; the
answer lists what could not be imported (document indexes, or file names in the zip), and
`failOnError=true` turns a non-empty list into a 422. A zip is read in memory, never unpacked on
disk, and checked before anything is read: at most MAX_ENTRIES files, none over the flow size
limit, so a zip bomb costs nothing. Export answers a zip of the flows' sources as written.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from lanner.errors import LannerError
from lanner.server.problems import ApiProblem
from lanner.server.routes.flows import documents, search_flows, services
from lanner.server.schemas import FlowKey
from lanner.server.services import Services

router = APIRouter(tags=["Flows"])
MAX_ENTRIES = 1000
YAML_NAMES = (".yml", ".yaml")
IMPORT_BODY = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"fileUpload": {"type": "string", "format": "binary"}}}}}, "required": True}}


def _sources(name: str, data: bytes, limit: int) -> list[tuple[str, str | None]]:
    """(name, YAML text or None when unreadable) of each flow in the upload."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiProblem(422, f"`{name[:100]}` is neither a zip nor UTF-8 YAML",
                             hint="upload a YAML file of flows, or a zip of .yml files") from None
        return [(str(i), doc) for i, (_, doc) in enumerate(documents(text))]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        if len(entries) > MAX_ENTRIES:
            raise ApiProblem(413, f"the zip holds {len(entries)} files, more than {MAX_ENTRIES}",
                             hint="split it into several imports")
        out: list[tuple[str, str | None]] = []
        for info in entries:
            if not info.filename.lower().endswith(YAML_NAMES) or info.file_size > limit:
                out.append((info.filename, None))
                continue
            try:
                out.append((info.filename, archive.read(info).decode("utf-8")))
            except (UnicodeDecodeError, zipfile.BadZipFile, RuntimeError):  # RuntimeError: encrypted entry
                out.append((info.filename, None))
        return out


def import_flows(svc: Services, name: str, data: bytes) -> list[str]:
    failed = []
    for entry, source in _sources(name, data, svc.settings.max_yaml_bytes):
        try:
            if source is None:
                raise ApiProblem(422, "unreadable")
            svc.save_flow(source.strip() + "\n")
        except (ApiProblem, LannerError):
            failed.append(entry)
    return failed


@router.post("/flows/import", summary="Import flows from a YAML file or a zip of YAML files",
             openapi_extra=IMPORT_BODY)
async def import_(request: Request, failOnError: bool = False, svc: Services = Depends(services)) -> list[str]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":  # the door lets every simple body through to upload routes
        raise ApiProblem(415, f"this endpoint does not take `{media[:60]}` bodies",
                         hint="send the file as multipart/form-data, field fileUpload")
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get("fileUpload")
        if not isinstance(upload, UploadFile):
            raise ApiProblem(422, "no file in the multipart field `fileUpload`",
                             hint="send the YAML or zip file as multipart field fileUpload")
        data = await upload.read()
    finally:
        await form.close()
    failed = await run_in_threadpool(import_flows, svc, upload.filename or "upload", data)
    if failed and failOnError:
        raise ApiProblem(422, "Following invalid flows were not imported: " + ", ".join(failed[:20]),
                         hint="validate them with POST /api/v1/flows/validate", extra={"invalids": failed})
    return failed


def _zip(files: list[tuple[str, str]]) -> Response:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in files:
            archive.writestr(name, source)
    return Response(buffer.getvalue(), media_type="application/octet-stream",
                    headers={"Content-Disposition": 'attachment; filename="flows.zip"'})


@router.post("/flows/export/by-ids", summary="Export flows as a zip of their YAML sources")
def export_by_ids(ids: list[FlowKey] = Body(..., max_length=10_000), svc: Services = Depends(services)) -> Response:
    files = []
    for key in ids:
        stored = svc.flow_store.latest(key.namespace, key.id)
        if stored is None:
            raise ApiProblem(404, f"flow `{key.namespace}.{key.id}` was not found", hint="nothing was exported")
        files.append((f"{stored.namespace}.{stored.id}.yaml", stored.source))
    return _zip(files)


@router.get("/flows/export/by-query", summary="Export the flows a search finds as a zip of their YAML sources")
def export_by_query(q: str | None = None, namespace: str | None = None,
                    svc: Services = Depends(services)) -> Response:
    found: dict[str, Any] = search_flows(page=1, size=100_000, q=q, namespace=namespace, sort=None, svc=svc)
    files = []
    for flow in found["results"]:
        stored = svc.flow_store.latest(flow["namespace"], flow["id"])
        if stored is not None:
            files.append((f"{stored.namespace}-{stored.id}.yml", stored.source))
    return _zip(files)
