"""The namespace KV store over HTTP (Kestra's KVController): list, read, put, delete, bulk delete.

A PUT body is typed the way Kestra's UI relies on: JSON when it parses (`42`, `true`,
`{"a": 1}`, `"text"`), an ISO date, date-time or duration when it is one, plain text otherwise;
the `ttl` (ISO-8601 duration) and `description` headers set the metadata. Every refusal — a key
that breaks the key pattern, a bad ttl, a missing key — is a JSON problem with Kestra's message.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from lanner.errors import LannerError
from lanner.model import kv_values
from lanner.model.duration import parse_duration
from lanner.server.problems import ApiProblem, from_lanner
from lanner.server.services import Services
from lanner.storage.kv import KVExpired, KVStore, check_key

router = APIRouter(tags=["KV"])
BASE = "/namespaces/{namespace}/kv"


def store(request: Request) -> KVStore:
    svc: Services = request.app.state.services
    return svc.files.kv


def _refused(exc: LannerError) -> ApiProblem:
    return from_lanner(exc, status=422)


@router.get(BASE, summary="List the live keys of a namespace")
def list_keys(namespace: str, kv: KVStore = Depends(store)) -> list[dict[str, Any]]:
    return [e.listing() for e in kv.entries(namespace)]


@router.get(BASE + "/inheritance", summary="List the keys of a namespace and of each parent namespace")
def list_with_parents(namespace: str, kv: KVStore = Depends(store)) -> list[dict[str, Any]]:
    parts = namespace.split(".")
    chain = [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
    return [{"namespace": ns, "kvEntries": [e.listing() for e in kv.entries(ns)]} for ns in chain]


@router.get(BASE + "/{kv_key}", summary="A key's value and type")
def get_value(namespace: str, kv_key: str, kv: KVStore = Depends(store)) -> dict[str, Any]:
    try:
        found = kv.get(namespace, kv_key)
    except KVExpired as exc:
        raise ApiProblem(404, exc.message, hint=exc.hint) from None
    except LannerError as exc:
        raise _refused(exc) from None
    if found is None:
        raise ApiProblem(404, f"No value found for key '{kv_key}' in namespace '{namespace}'",
                         hint="list the namespace's keys with GET " + BASE.format(namespace=namespace))
    return {"type": found.type, "value": found.value}


@router.put(BASE + "/{kv_key}", summary="Set a key (type from the body; ttl and description headers)")
async def put_value(namespace: str, kv_key: str, request: Request, ttl: str | None = Header(None),
                    description: str | None = Header(None), kv: KVStore = Depends(store)) -> None:
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(422, "the value is not UTF-8 text", hint="send text or JSON") from None

    def write() -> None:
        kv_type, value = kv_values.from_text(text)
        lifetime = parse_duration(ttl.strip()) if ttl else None
        kv.put(namespace, kv_key, kv_type, value, ttl=lifetime, description=description)

    try:
        await run_in_threadpool(write)  # file writes and fsync stay off the event loop
    except LannerError as exc:
        raise _refused(exc) from None


@router.delete(BASE + "/{kv_key}", summary="Delete a key; true when there was one")
def delete_value(namespace: str, kv_key: str, kv: KVStore = Depends(store)) -> bool:
    try:
        return kv.delete(namespace, kv_key)
    except LannerError as exc:
        raise _refused(exc) from None


@router.delete(BASE, summary="Delete several keys; the keys that were deleted")
def delete_values(namespace: str, request: dict[str, Any] = Body(...),
                  kv: KVStore = Depends(store)) -> dict[str, list[str]]:
    keys = request.get("keys") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ApiProblem(422, "`keys` must be a list of key names", hint='send {"keys": ["a", "b"]}')
    try:
        checked = [check_key(k) for k in keys]  # all refused before any is deleted
        return {"keys": [k for k in checked if kv.delete(namespace, k)]}
    except LannerError as exc:
        raise _refused(exc) from None
