"""The dependency every route uses to reach the server's `Services`.

It is `async` on purpose: FastAPI runs a plain `def` dependency on a worker thread, so a sync one
costs every request a hand-off to the thread pool and back (two thread wake-ups, which on a busy
2-core machine cost more than the route's own work) for a lookup that never blocks.
"""

from __future__ import annotations

from fastapi import Request

from lanner.server.services import Services


async def services(request: Request) -> Services:
    return request.app.state.services
