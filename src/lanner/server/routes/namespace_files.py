"""Namespace files: list, read, stats, search, upload (a file or a zip), create a directory,
move, delete, export as a zip — Kestra's NamespaceFileController, same paths and query parameters.

Paths come in the `path` (`from`, `to`) query parameter, from the namespace's root (`/a/b.py`);
each is checked by `storage/namespace_files.py:clean` (400 for `..`, NUL, over-long names, links)
before the disk is touched. Lanner keeps no revisions of namespace files: a `revision` other
than 1 is answered 400 rather than silently giving the latest.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from lanner.server.problems import ApiProblem
from lanner.server.services import Services
from lanner.storage.namespace_files import BadPath, NamespaceTree, NoSuchFile

router = APIRouter(tags=["Files"])
UPLOAD_BODY = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"fileContent": {"type": "string", "format": "binary"}}}}}, "required": True}}
_NO_CACHE = {"Cache-Control": "no-cache"}
_CHUNK = 256 * 1024


def tree(namespace: str, request: Request) -> NamespaceTree:
    svc: Services = request.app.state.services
    return svc.files.namespace(namespace)


def _checked(action: Any, *args: Any) -> Any:
    """Run a storage call, its refusals as problems: a bad path 400, a missing file 404."""
    try:
        return action(*args)
    except NoSuchFile as exc:
        raise ApiProblem(404, exc.message, hint=exc.hint) from None
    except BadPath as exc:
        raise ApiProblem(400, exc.message, hint=exc.hint) from None
    except IsADirectoryError:
        raise ApiProblem(400, "the path is a directory here") from None
    except NotADirectoryError:
        raise ApiProblem(400, "a part of the path is a file, not a directory") from None


async def _run(action: Any, *args: Any) -> Any:
    return await run_in_threadpool(_checked, action, *args)


@router.get("/namespaces/{namespace}/files/search", summary="Paths of the namespace's files that contain `q`")
async def search(namespace: str, request: Request, q: str = Query("", max_length=1024)) -> list[str]:
    files = tree(namespace, request)
    return await _run(files.search, q)


@router.get("/namespaces/{namespace}/files/directory", summary="List a directory of the namespace's files")
async def list_directory(namespace: str, request: Request, path: str | None = None) -> list[dict[str, Any]]:
    files = tree(namespace, request)
    entries = await _run(files.children, path or "/")
    return [e.as_json() for e in entries]


@router.post("/namespaces/{namespace}/files/directory", summary="Create a directory (and its parents)")
async def create_directory(namespace: str, request: Request, path: str | None = None) -> Response:
    files = tree(namespace, request)
    await _run(files.make_directory, path or "/")
    return Response(status_code=200)


@router.get("/namespaces/{namespace}/files/stats", summary="Size, dates and type of a file or directory")
async def stats(namespace: str, request: Request, path: str | None = None) -> dict[str, Any]:
    files = tree(namespace, request)
    return (await _run(files.stats, path or "/")).as_json()


@router.get("/namespaces/{namespace}/files/export", summary="Every file of the namespace as a zip")
async def export(namespace: str, request: Request) -> Response:
    files = tree(namespace, request)
    buffer = io.BytesIO()
    await _run(files.export, buffer)
    return Response(buffer.getvalue(), media_type="application/octet-stream",
                    headers={**_NO_CACHE, "Content-Disposition": f'attachment; filename="{namespace}_files.zip"'})


@router.get("/namespaces/{namespace}/files", summary="A namespace file's content")
async def get_file(namespace: str, request: Request, path: str = Query(...),
                   revision: int | None = Query(None, ge=1)) -> Response:
    if revision is not None and revision != 1:
        raise ApiProblem(400, f"revision {revision} does not exist: Lanner keeps only the current content "
                              "of a namespace file", hint="leave `revision` out")
    files = tree(namespace, request)
    stream = await _run(files.open, path)
    return StreamingResponse(_chunks(stream), media_type="application/octet-stream", headers=_NO_CACHE)


def _chunks(stream: Any) -> Iterator[bytes]:
    """A file in fixed-size pieces (a binary file may have no line breaks to split at), closed at the end."""
    with stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


@router.post("/namespaces/{namespace}/files", summary="Upload a file (a .zip is unpacked below `path`)",
             openapi_extra=UPLOAD_BODY)
async def upload(namespace: str, request: Request, path: str = Query(...)) -> Response:
    files = tree(namespace, request)
    _checked(files.locate, path)  # a bad path is refused before the body is read
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise ApiProblem(415, "send the file as multipart/form-data in a field named `fileContent`")
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get("fileContent")
        if not isinstance(upload, UploadFile):
            raise ApiProblem(400, "the form has no file field `fileContent`",
                             hint="curl -F fileContent=@main.py '…/files?path=/main.py'")
        if (upload.filename or "").lower().endswith(".zip"):
            folder = path if path.endswith("/") or "." not in path.rsplit("/", 1)[-1] else path.rsplit("/", 1)[0]
            await _run(files.unpack, upload.file, folder or "/")
        else:
            await _run(files.write, path, upload.file)
    finally:
        await form.close()
    return Response(status_code=200)


@router.put("/namespaces/{namespace}/files", summary="Move or rename a file or directory")
async def move(namespace: str, request: Request, from_: str = Query(..., alias="from"),
               to: str = Query(...)) -> Response:
    files = tree(namespace, request)
    await _run(files.move, from_, to)
    return Response(status_code=200)


@router.delete("/namespaces/{namespace}/files", summary="Delete a file or a directory with its content")
async def delete(namespace: str, request: Request, path: str = Query(...)) -> Response:
    files = tree(namespace, request)
    await _run(files.delete, path)
    return Response(status_code=200)
