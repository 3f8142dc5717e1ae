"""Executions: create (inputs as multipart or JSON, `?wait=true`), read, search, follow, kill, restart,
resume, delete, and webhooks (Kestra's ExecutionController)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from lanner.model import ids
from lanner.model.execution import Execution, new_id
from lanner.model.flow import Flow
from lanner.model.state import StateType
from lanner.server import params, sse, views
from lanner.server.dependencies import services
from lanner.server.problems import ApiProblem, not_found
from lanner.server.schemas import PagedResults
from lanner.server.services import Services
from lanner.storage.execution_queries import SORTABLE, ExecutionFilter, ReadSnapshot

router = APIRouter(tags=["Executions"])
INPUTS_BODY = {"requestBody": {"content": {
    "multipart/form-data": {"schema": {"type": "object", "additionalProperties": True}},
    "application/json": {"schema": {"type": "object", "additionalProperties": True}}}}}


def _labels(raw: list[str]) -> dict[str, str]:
    out = {}
    for item in raw:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ApiProblem(400, f"label `{item}` is not `key:value`", hint="pass labels as ?labels=team:data")
        out[key] = value
    return out


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith(("multipart/form-data",
                                                               "application/x-www-form-urlencoded"))


async def _inputs(request: Request, svc: Services, flow: Flow, execution_id: str,
                  stored: list[str]) -> dict[str, Any]:
    """Inputs from a multipart form (files go to internal storage) or a JSON object."""
    if _is_form(request):
        return await _form_inputs(request, svc, flow, execution_id, stored)
    return _json_inputs(await request.body())


async def _form_inputs(request: Request, svc: Services, flow: Flow, execution_id: str,
                       stored: list[str]) -> dict[str, Any]:
    """A file field must name one of the flow's FILE inputs; its content is copied in chunks from
    the form's spooled temporary file. Each stored URI is appended to `stored`, so the caller can
    remove them all when the request fails later."""
    file_inputs = [i.id for i in flow.inputs if i.type == "FILE"]
    form = await request.form(max_files=32, max_fields=1000)
    try:
        out: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                ids.check("input id", key)
                if key not in file_inputs:
                    raise ApiProblem(422, f"file field `{key}` is not a FILE input of flow "
                                          f"`{flow.namespace}.{flow.id}`",
                                     hint="its FILE inputs are: " + (", ".join(file_inputs) or "none"))
                uri = await run_in_threadpool(svc.files.put_stream, flow.namespace, flow.id, execution_id,
                                              "inputs", key, value.filename or key, value.file)
                stored.append(uri)
                out[key] = uri
            else:
                out[key] = value
        return out
    finally:
        await form.close()


def _json_inputs(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ApiProblem(400, f"the body is not valid JSON: {exc.msg} at character {exc.pos}",
                         hint="send inputs as a JSON object or as multipart/form-data") from None
    if not isinstance(data, dict):
        raise ApiProblem(400, "the inputs must be a JSON object", hint='send e.g. {"name": "World"}')
    return data


async def _answer(svc: Services, execution_id: str) -> dict[str, Any]:
    exe = await asyncio.to_thread(svc.execution, execution_id)
    flow = await asyncio.to_thread(svc.flow_of, exe)
    return views.execution_json(exe, flow)


async def _wait_end(svc: Services, execution_id: str, request: Request) -> None:
    waiter = svc.hub.subscribe(execution_id)
    try:
        while True:
            exe = await asyncio.to_thread(svc.queries.get, execution_id)
            if exe is None or sse.finished(exe) or await request.is_disconnected():
                return
            await waiter.wait(sse.POLL)
    finally:
        svc.hub.unsubscribe(waiter)


def execution_filter(q: str | None = None, namespace: str | None = None, flowId: str | None = None,
                     state: list[str] = Query(default_factory=list), startDate: str | None = None,
                     endDate: str | None = None, labels: list[str] = Query(default_factory=list),
                     triggerExecutionId: str | None = None) -> ExecutionFilter:
    """Kestra's execution filters, checked: shared by search and the bulk `by-query` routes."""
    return ExecutionFilter(q=q, namespace=namespace, flow_id=flowId, states=params.states(state),
                           start_date=params.instant("startDate", startDate),
                           end_date=params.instant("endDate", endDate), labels=_labels(labels),
                           trigger_execution_id=triggerExecutionId)


@router.get("/executions/search", summary="Search executions", response_model=PagedResults)
def search(page: int = Query(1, ge=1), size: int = Query(25, ge=1, le=1000), sort: str | None = None,
           f: ExecutionFilter = Depends(execution_filter), svc: Services = Depends(services)) -> Response:
    """Written as it is read, an execution and a page of its task runs at a time, from one snapshot:
    a page listing an execution of 100,000 task runs (the UI's executions list asks for such pages)
    took the server from 75 MB to 1 GB when each answer was built whole. The text is as FastAPI
    wrote the whole answer (compact, non-ASCII characters as they are), each execution's keys in
    the order `GET /executions/{id}` gives them (an ended one's task runs last)."""
    sort = params.sort(sort, SORTABLE)
    snapshot = svc.queries.snapshot()
    try:
        headers, total = snapshot.page(f, page, size, sort)
        unended = snapshot.unended([h["id"] for h in headers])
    except BaseException:
        snapshot.close()
        raise
    return StreamingResponse(_closing(snapshot, _search_answer(svc, snapshot, headers, unended, total)),
                             media_type="application/json")


def _search_answer(svc: Services, snapshot: ReadSnapshot, headers: list[dict[str, Any]], unended: dict[str, int],
                   total: int) -> Iterator[str]:
    yield '{"results":['
    for i, header in enumerate(headers):
        if i:
            yield ","
        ended = _ended(header, unended.get(header["id"], 0))
        yield from _execution_text(svc, snapshot, header, ended, ensure_ascii=False)
    yield f'],"total":{total}}}'


@router.get("/executions/follow", summary="A tick whenever any execution changes (SSE)")
async def follow_all(request: Request, svc: Services = Depends(services)) -> Any:
    return sse.stream(sse.follow_all(svc, request.is_disconnected))


@router.get("/executions/{execution_id}", summary="Get an execution")
async def get_execution(execution_id: str, svc: Services = Depends(services)) -> Response:
    """Serialised here with `json.dumps`, as the follow stream does, not by FastAPI's generic encoder:
    the execution's JSON is already plain data, and for 10,000 task runs (8 MB) the encoder's walk
    took seconds of the execution page's load, `json.dumps` a tenth of one."""
    answer = await asyncio.to_thread(_execution_answer, svc, execution_id)
    if isinstance(answer, str):
        return Response(content=answer, media_type="application/json")
    return StreamingResponse(answer, media_type="application/json")


def _execution_answer(svc: Services, execution_id: str) -> str | Iterator[str]:
    """The execution's text, read from one snapshot (`ReadSnapshot`): an ended one to be written as
    it is read (a restart while a long answer is written does not mix into it), a running one whole."""
    snapshot = svc.queries.snapshot()
    try:
        header = snapshot.header(execution_id)
        if header is None:
            raise not_found(f"execution `{execution_id}`")
        ended = _ended(header, snapshot.unended([execution_id]).get(execution_id, 0))
        text = _execution_text(svc, snapshot, header, ended, ensure_ascii=True)
        first = next(text)  # its faults (a flow that cannot load, the store) are the request's, not the stream's
        if ended:
            return _closing(snapshot, itertools.chain((first,), text))
    except BaseException:
        snapshot.close()
        raise
    snapshot.close()
    return first


def _ended(header: dict[str, Any], unended: int) -> bool:
    """Ended with every task run ended: its stored JSON is its answer (a header that says ended with
    task runs still going is an execution being finished)."""
    return StateType(header["state"]["current"]).terminated and not unended


def _execution_text(svc: Services, snapshot: ReadSnapshot, header: dict[str, Any], ended: bool,
                    ensure_ascii: bool) -> Iterator[str]:
    """An `ended` execution (`_ended`) is written from its stored JSON (written by `to_json` when each
    run ended, so the same text), its task runs read and written a page at a time: 100,000 of them (86 MB)
    took the server to 0.8 GB when built whole. A running one goes through the model, whose
    durations run to now."""
    exe = Execution.from_json(header, [])
    flow = svc.flow_of(exe)
    if ended:
        yield from _ended_answer(header, views.ExecutionMask.of(exe, flow), snapshot.runs(exe.id), ensure_ascii)
        return
    exe = Execution.from_json(header, [run for page in snapshot.runs(exe.id) for run in page])
    yield views.json_text(views.execution_json(exe, flow), ensure_ascii=ensure_ascii)


def _ended_answer(header: dict[str, Any], masking: views.ExecutionMask,
                  pages: Iterator[list[dict[str, Any]]], ensure_ascii: bool = True) -> Iterator[str]:
    """The stored `header` masked, with its task runs (added last, as the stored header has none)
    written a page at a time, then the list's and the object's ends."""
    head = views.json_text(masking.around_runs({**header, "taskRunList": []}), ensure_ascii=ensure_ascii)
    yield head.removesuffix("[]}") + "["
    first = True
    for page in pages:
        text = ",".join(views.json_text(masking.run(run), ensure_ascii=ensure_ascii) for run in page)
        if text:
            yield text if first else "," + text
            first = False
    yield "]}"


def _closing(snapshot: ReadSnapshot, text: Iterator[str]) -> Iterator[str]:
    """`text`, then the snapshot it is read from ended (also when the client goes away first)."""
    try:
        yield from text
    finally:
        snapshot.close()


@router.get("/executions/{execution_id}/flow", summary="The flow revision an execution runs")
def execution_flow(execution_id: str, svc: Services = Depends(services)) -> dict[str, Any]:
    exe = svc.queries.get(execution_id, with_task_runs=False)  # the revision is in the header
    if exe is None:
        raise not_found(f"execution `{execution_id}`")
    stored = svc.flow_store.revision(exe.namespace, exe.flow_id, exe.flow_revision)
    if stored is None:
        raise not_found(f"flow `{exe.namespace}.{exe.flow_id}` revision {exe.flow_revision}")
    return views.flow_json(stored)


@router.get("/executions/{execution_id}/follow", summary="Follow an execution (server-sent events)")
async def follow(execution_id: str, request: Request, svc: Services = Depends(services)) -> Any:
    if not await asyncio.to_thread(svc.queries.exists, execution_id):
        raise not_found(f"execution `{execution_id}`")
    return sse.stream(sse.follow_execution(svc, execution_id, request.is_disconnected))


@router.delete("/executions/{execution_id}/kill", status_code=202,
               summary="Kill an execution (finally blocks still run unless ?hard=true)")
def kill(execution_id: str, hard: bool = False, svc: Services = Depends(services)) -> Response:
    svc.kill(execution_id, hard)
    return Response(status_code=202)


@router.post("/executions/{execution_id}/restart", summary="Restart a FAILED or KILLED execution from its failure")
async def restart(execution_id: str, svc: Services = Depends(services)) -> dict[str, Any]:
    exe = await run_in_threadpool(svc.restart, execution_id)
    return views.execution_json(exe, await asyncio.to_thread(svc.flow_of, exe))


@router.post("/executions/{execution_id}/resume", status_code=204, summary="Resume a PAUSED execution",
             openapi_extra=INPUTS_BODY)
async def resume(execution_id: str, request: Request, svc: Services = Depends(services)) -> Response:
    """Kestra's resume: the paused task's `onResume` inputs as a multipart form (FILE inputs as
    files) or a JSON object. Invalid values answer 422 and the execution stays PAUSED; files
    stored for a refused resume are removed."""
    from lanner.model.resume_inputs import as_flow_inputs
    from lanner.server.resumes import resumed_by

    exe = await run_in_threadpool(svc.paused, execution_id)
    flow = as_flow_inputs(await asyncio.to_thread(svc.flow_of, exe), exe)
    stored: list[str] = []
    try:
        given = await _inputs(request, svc, flow, exe.id, stored)
        await run_in_threadpool(svc.resume, execution_id, given, resumed_by(request.headers.get("authorization")))
    except BaseException:  # a refused resume keeps no upload
        for uri in stored:
            await run_in_threadpool(svc.files.remove, uri)
        raise
    return Response(status_code=204)


@router.delete("/executions/{execution_id}", status_code=204, summary="Delete an ended execution and its logs")
def delete(execution_id: str, svc: Services = Depends(services)) -> Response:
    svc.delete_execution(execution_id)
    return Response(status_code=204)


@router.post("/executions/{namespace}/{flow_id}", summary="Create an execution of a flow",
             openapi_extra=INPUTS_BODY)
async def create(namespace: str, flow_id: str, request: Request, wait: bool = False,
                 labels: list[str] = Query(default_factory=list), revision: int | None = Query(None, ge=1),
                 svc: Services = Depends(services)) -> Response:
    """A JSON or empty body costs one hand-off to a worker thread (`_Creation.run`); a form two,
    since its files are stored only once the flow is known to exist. The answer is written here
    with `json.dumps`, as `get_execution` does, not by FastAPI's generic encoder."""
    creation = _Creation(svc, namespace, flow_id, revision, labels, wait)
    if _is_form(request):
        creation.flow = await run_in_threadpool(svc.flow, namespace, flow_id, revision)  # 404 before any byte
        stored: list[str] = []
        try:
            creation.given = await _form_inputs(request, svc, creation.flow, creation.execution_id, stored)
            exe = await run_in_threadpool(creation.run)
        except BaseException:  # any failure (bad input, too large, disconnect): the uploads must not stay
            for uri in stored:
                await run_in_threadpool(svc.files.remove, uri)
            raise
    else:
        creation.given = await request.body()
        exe = await run_in_threadpool(creation.run)
    if creation.answer is None:  # ?wait=true
        await _wait_end(svc, exe.id, request)
        creation.answer = await _answer(svc, exe.id)
    creation.answer["url"] = ui_url(request, exe.id)
    return Response(content=views.json_text(creation.answer),
                    media_type="application/json")


class _Creation:
    """One `POST /executions/{namespace}/{flow_id}`: what `run` needs on the worker thread, and the
    answer it leaves (the execution as created, read before the executor loop gets it)."""

    def __init__(self, svc: Services, namespace: str, flow_id: str, revision: int | None, labels: list[str],
                 wait: bool) -> None:
        self.svc, self.namespace, self.flow_id, self.revision, self.labels = svc, namespace, flow_id, revision, labels
        self.wait = wait
        self.execution_id = new_id()
        self.flow: Flow | None = None
        self.given: dict[str, Any] | bytes = b""
        self.answer: dict[str, Any] | None = None

    def run(self) -> Execution:
        """The flow looked up (404 first, as before any upload), the inputs read, the execution stored
        and handed to the executor loop."""
        flow = self.flow or self.svc.flow(self.namespace, self.flow_id, self.revision)
        inputs = self.given if isinstance(self.given, dict) else _json_inputs(self.given)
        return self.svc.create_execution(self.namespace, self.flow_id, inputs, _labels(self.labels), self.revision,
                                         self.execution_id, flow=flow,
                                         created=None if self.wait else lambda exe: self._created(exe, flow))

    def _created(self, exe: Execution, flow: Flow) -> None:
        self.answer = views.execution_json(exe, flow)


def ui_url(request: Request, execution_id: str) -> str:
    """Where a person sees the execution (Kestra's ExecutionResponse `url`), on the address the
    caller used to reach this server."""
    return f"{str(request.base_url).rstrip('/')}/ui/#/executions/{execution_id}"


@router.api_route("/executions/webhook/{namespace}/{flow_id}/{key}", methods=["GET", "POST", "PUT"],
                  summary="Start a flow through its Webhook trigger")
async def webhook(namespace: str, flow_id: str, key: str, request: Request,
                  svc: Services = Depends(services)) -> Any:
    from lanner.runtime.scheduler import WebhookConditionsUnmet, WebhookNotFound
    from lanner.runtime.webhook_signature import WebhookSignatureRejected

    raw = await request.body()
    text = raw.decode("utf-8", "replace")
    body: Any = text or None
    if text:
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            body = text
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        if name.lower() != "authorization":
            headers.setdefault(name.lower(), []).append(value)
    parameters: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        parameters.setdefault(name, []).append(value)
    try:
        exe, spec = await run_in_threadpool(svc.scheduler.webhook, namespace, flow_id, key, body, headers, parameters,
                                            raw)
    except WebhookNotFound as exc:
        raise ApiProblem(404, str(exc)) from None
    except WebhookSignatureRejected as exc:  # Kestra: a missing or invalid signature is 401, nothing started
        raise ApiProblem(401, str(exc)) from None
    except WebhookConditionsUnmet:
        return Response(status_code=204)  # Kestra: the call is received, its conditions start nothing
    if spec.wait:
        await _wait_end(svc, exe.id, request)
        answer = await _answer(svc, exe.id)
        return answer.get("outputs", {}) if spec.returnOutputs else answer
    return views.execution_json(exe, await asyncio.to_thread(svc.flow_of, exe))
