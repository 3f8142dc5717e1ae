"""ASGI middleware: basic auth, request-body bounds, security headers.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, so that server-sent event streams are
not buffered and each request pays one function call, not a task.
"""

from __future__ import annotations

import json
from typing import Any

from lanner.server.problems import MEDIA_TYPE, ApiProblem
from lanner.server.settings import ServerSettings

# Webhooks carry their own secret (the key) and are called by other systems; Kestra leaves them
# open under basic auth too. The health check is open for load balancers.
OPEN_PREFIXES = ("/api/v1/executions/webhook/", "/api/v1/main/executions/webhook/", "/ping")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy",
     (b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'")),
]


class BodyTooLarge(Exception):
    pass


async def _send_problem(send: Any, problem: ApiProblem) -> None:
    body = json.dumps(problem.body()).encode()
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in problem.headers.items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Wraps the app: rejects unauthenticated and oversized requests before any route runs."""

    def __init__(self, app: Any, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        auth = self.settings.auth
        if auth is not None and not path.startswith(OPEN_PREFIXES) and not auth.check(headers.get("authorization")):
            await _send_problem(send, ApiProblem(401, "authentication required", hint="use HTTP basic auth",
                                                 headers={"WWW-Authenticate": 'Basic realm="Lanner"'}))
            return
        limit = self.settings.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_problem(send, too_large(limit))
            return
        received = 0
        started = False

        async def bounded_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def secured_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        try:
            await self.app(scope, bounded_receive, secured_send)
        except BodyTooLarge:
            if not started:
                await _send_problem(send, too_large(limit))


def too_large(limit: int) -> ApiProblem:
    return ApiProblem(413, f"the request body is larger than {limit} bytes",
                      hint="send less, or raise LANNER_MAX_BODY_BYTES on the server")
