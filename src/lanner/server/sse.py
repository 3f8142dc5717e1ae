"""Server-sent event streams: an execution as it changes, its logs as they are written.

Each stream subscribes to the hub, then re-reads the database whenever it is woken (or every
`POLL` seconds, in case a wake-up came before the rows were committed) and sends only what is
new. Kestra's conventions: the first event has id `start`, changes have id `progress`, and the
last one id `end`; the stream ends when the execution and all its task runs have ended.

An execution's document grows with its task runs (8.5 MB at 10,000): the stream waits after
each send in proportion to what building it cost (`pause_after`), so that a follower of a huge
running execution costs the server at most about a fifth of a core and the page a few documents
a minute, while a small one still moves at once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import StreamingResponse

from lanner.model.execution import Execution
from lanner.server import views
from lanner.server.hub import ALL

POLL = 0.5
BURST = 0.05  # the least wait after a send: lets a burst of changes land before reading again
COST_SHARE = 4.0  # wait this many times what the last document cost to build…
MAX_PAUSE = 5.0  # …but never longer than this between two sends of a changing execution
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event(data: str, event_id: str | None = None, name: str | None = None) -> str:
    lines = []
    if event_id:
        lines.append(f"id: {event_id}")
    if name:
        lines.append(f"event: {name}")
    lines += [f"data: {part}" for part in (data.split("\n") if data else [""])]
    return "\n".join(lines) + "\n\n"


def stream(gen: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(gen, media_type="text/event-stream", headers=HEADERS)


def finished(exe: Execution) -> bool:
    """Ended, and no afterExecution task still running."""
    return exe.state.current.terminated and all(r.current.terminated for r in exe.task_runs)


async def follow_execution(svc: Any, execution_id: str, disconnected: Callable[[], Any]) -> AsyncIterator[str]:
    waiter = svc.hub.subscribe(execution_id)
    try:
        yield event("", "start")
        last = None
        while True:
            started = time.monotonic()
            exe = await asyncio.to_thread(svc.queries.get, execution_id)
            if exe is None:
                yield event(json.dumps({"message": f"execution `{execution_id}` was deleted"}), "end", "error")
                return
            flow = await asyncio.to_thread(svc.flow_of, exe)
            text = views.json_text(views.execution_json(exe, flow), compact=False)
            cost = time.monotonic() - started
            if finished(exe):
                yield event(text, "end")
                return
            if text != last:
                yield event(text, "progress")
                last = text
            if await disconnected():
                return
            await waiter.wait(POLL)
            await asyncio.sleep(pause_after(cost))
    finally:
        svc.hub.unsubscribe(waiter)


def pause_after(cost: float) -> float:
    """How long to wait before reading an execution again, given what the last read cost (s)."""
    return min(MAX_PAUSE, max(BURST, COST_SHARE * cost))


async def follow_logs(svc: Any, execution_id: str, min_level: str | None,
                      disconnected: Callable[[], Any]) -> AsyncIterator[str]:
    waiter = svc.hub.subscribe(execution_id)
    try:
        yield event("", "start")
        after = 0
        exe = await asyncio.to_thread(svc.queries.get, execution_id)
        while True:
            done = exe is None or finished(exe)
            secrets = (views.log_secrets(await asyncio.to_thread(svc.flow_of, exe), exe) if exe
                       else views.log_secrets(None, None))
            rows = await asyncio.to_thread(svc.queries.logs, execution_id, min_level, after_seq=after)
            for row in rows:
                after = row["seq"]
                yield event(json.dumps(views.log_json(row, exe, secrets)), "progress")
            if done:
                yield event("", "end")
                return
            if await disconnected():
                return
            await waiter.wait(POLL)
            await asyncio.sleep(0.05)
            exe = await asyncio.to_thread(svc.queries.get, execution_id)
    finally:
        svc.hub.unsubscribe(waiter)


async def follow_all(svc: Any, disconnected: Callable[[], Any]) -> AsyncIterator[str]:
    """A tick whenever any execution changes (the executions list refreshes on it)."""
    waiter = svc.hub.subscribe(ALL)
    try:
        yield event("", "start")
        while not await disconnected():
            if await waiter.wait(15):
                yield event("changed", "progress")
                await asyncio.sleep(0.5)  # at most two refreshes a second
            else:
                yield ": keep-alive\n\n"
    finally:
        svc.hub.unsubscribe(waiter)
