"""ASGI middleware: the server's doors, checked before any route runs.

In order: the `Host` must name this server (DNS rebinding), a state-changing request must come
from no browser page or from an allowed origin and must not be a "simple" cross-site body
(text/plain or a form) except where forms are the point, the caller must be authenticated unless
the route is one of the exact public ones, and the body must stay within its limit. See
docs/security.md for why each door exists.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, so that server-sent event streams are
not buffered and each request pays one function call, not a task.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
from typing import Any
from urllib.parse import urlsplit

from lanner.server.problems import MEDIA_TYPE, ApiProblem
from lanner.server.settings import ServerSettings
from lanner.server.throttle import Throttle

API = "/api/v1/"
# The first path segment of every API route; anything else there is a tenant (`/api/v1/main/flows`).
API_ROOTS = frozenset({"flows", "executions", "logs", "plugins", "triggers", "configs", "namespaces",
                       "openapi.json", "stats"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Bodies a browser sends cross-site without asking first (no CORS preflight).
SIMPLE_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
OPEN_EXACT = frozenset({"/ping"})
# `POST /executions/{id}/<word>`: actions on an execution, which take JSON or nothing, never a form.
ACTION_WORDS = frozenset({"restart", "resume", "labels", "change-status", "replay"})
# `POST /executions/<action>/by-ids|by-query`: bulk actions, which take JSON, never a form.
BULK_WORDS = frozenset({"by-ids", "by-query"})
MAX_PENDING_CHECKS = 32  # password checks queued at once; more are answered 429 at once
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy",
     (b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'")),
]
_HOST_PORT = re.compile(r"^(\[[^\]]*\]|[^:]*)(:\d*)?$")


class BodyTooLarge(Exception):
    def __init__(self, problem: ApiProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


async def _send_problem(send: Any, problem: ApiProblem) -> None:
    body = json.dumps(problem.body()).encode()
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in problem.headers.items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers + SECURITY_HEADERS})
    await send({"type": "http.response.body", "body": body})


def api_route(path: str) -> tuple[str | None, list[str]] | None:
    """(tenant, segments) of an API path, e.g. `/api/v1/main/flows/a/b` → ("main", ["flows", "a", "b"])."""
    if not path.startswith(API):
        return None
    segments = path[len(API):].split("/")
    if segments and segments[0] not in API_ROOTS and len(segments) > 1:
        return segments[0], segments[1:]
    return None, segments


def is_webhook(route: tuple[str | None, list[str]] | None) -> bool:
    """Exactly `…/executions/webhook/{namespace}/{flowId}/{key}` (tenant `main` or none)."""
    if route is None:
        return False
    tenant, segs = route
    return tenant in (None, "main") and len(segs) == 5 and segs[:2] == ["executions", "webhook"] and all(segs)


def is_upload(method: str, route: tuple[str | None, list[str]] | None) -> bool:
    """`POST …/executions/{namespace}/{flowId}` and `…/executions/{id}/resume`: inputs arrive as a
    form, files included; `POST …/namespaces/{namespace}/files`: a namespace file arrives as a form;
    `POST …/flows/import`: a file of flows arrives as a form."""
    if route is None or method != "POST":
        return False
    segs = route[1]
    if len(segs) == 3 and segs[0] == "namespaces" and segs[2] == "files" and segs[1]:
        return True
    if segs == ["flows", "import"]:  # a YAML or zip file of flows
        return True
    return (len(segs) == 3 and segs[0] == "executions" and all(segs) and segs[2] not in BULK_WORDS
            and (segs[2] == "resume" or segs[2] not in ACTION_WORDS))


def host_name(header: str) -> str:
    """The host of a `Host` header, without port or IPv6 brackets."""
    m = _HOST_PORT.match(header.strip())
    return (m.group(1) if m else header).strip("[]").lower()


class Guard:
    """Wraps the app: rejects misdirected, cross-site, unauthenticated and oversized requests."""

    def __init__(self, app: Any, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings
        self.throttle = Throttle(settings.auth_max_failures, settings.auth_lockout_seconds)
        self._checks: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET").upper()
        route = api_route(path)
        problem = self._refused(path, method, route, headers)
        if problem is None and self.settings.auth is not None and path not in OPEN_EXACT and not is_webhook(route):
            problem = await self._authenticate(headers.get("authorization"), scope)
        if problem is not None:
            await _send_problem(send, problem)
            return
        await self._bounded(scope, receive, send, headers)

    # -- doors -------------------------------------------------------------------------------

    def _refused(self, path: str, method: str, route: tuple[str | None, list[str]] | None,
                 headers: dict[str, str]) -> ApiProblem | None:
        """Why a request is refused before authentication (wrong name, cross-site), or None."""
        host = headers.get("host")
        if host is not None and path not in OPEN_EXACT and not self.settings.host_allowed(host_name(host)):
            return ApiProblem(421, f"this server does not answer to the name `{host_name(host)[:100]}`",
                              hint="if you reach it through a proxy or a DNS name, add that name to "
                                   "LANNER_ALLOWED_HOSTS (comma-separated)")
        if method not in STATE_CHANGING or is_webhook(route):
            return None  # webhooks carry their own secret and are meant to be called from anywhere
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin, host):
            return ApiProblem(403, f"requests from the page origin `{origin[:100]}` may not change anything here",
                              hint="open the UI from this server's own address, or add that origin to "
                                   "LANNER_ALLOWED_ORIGINS")
        if origin is None and headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            return ApiProblem(403, "a cross-site request may not change anything here",
                              hint="call the API from the UI on this server, or without a browser")
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media in SIMPLE_TYPES and not is_upload(method, route):
            wanted = "application/x-yaml" if route and route[1][:1] == ["flows"] else "application/json"
            return ApiProblem(415, f"this endpoint does not take `{media}` bodies",
                              hint=f"send Content-Type: {wanted}")
        return None

    def _origin_allowed(self, origin: str, host: str | None) -> bool:
        origin = origin.strip().lower().rstrip("/")
        if origin in self.settings.allowed_origins:
            return True
        try:
            parts = urlsplit(origin)
        except ValueError:  # a malformed Origin is nobody's
            return False
        return parts.scheme in ("http", "https") and host is not None and parts.netloc == host.strip().lower()

    async def _authenticate(self, header: str | None, scope: dict[str, Any]) -> ApiProblem | None:
        """None when the credentials are right; else 401, or 429 for a client past its failures.

        The password hash (scrypt, deliberately slow) is computed on a small thread pool of its
        own, so guesses neither stall the event loop nor take the threads the routes run on."""
        auth = self.settings.auth
        assert auth is not None
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.throttle.retry_after(client)
        if wait:
            return ApiProblem(429, "too many failed sign-ins from this address",
                              hint=f"wait {wait} s before trying again", headers={"Retry-After": str(wait)})
        if header and auth.known(header):
            return None
        ok = False
        if header:
            if self._pending >= MAX_PENDING_CHECKS:
                return ApiProblem(429, "too many sign-ins at once", hint="retry in a second",
                                  headers={"Retry-After": "1"})
            if self._checks is None:
                self._checks = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="lanner-auth")
            self._pending += 1
            try:
                ok = await asyncio.get_running_loop().run_in_executor(self._checks, auth.check, header)
            finally:
                self._pending -= 1
        if ok:
            self.throttle.succeeded(client)
            return None
        if header:
            self.throttle.failed(client)
        return ApiProblem(401, "authentication required", hint="use HTTP basic auth",
                          headers={"WWW-Authenticate": 'Basic realm="Lanner"'})

    async def _bounded(self, scope: dict[str, Any], receive: Any, send: Any, headers: dict[str, str]) -> None:
        """Run the app with the body limit for this kind of request and the security headers."""
        if headers.get("content-type", "").lower().startswith("multipart/form-data"):
            limit, variable = self.settings.max_upload_bytes, "LANNER_MAX_UPLOAD_BYTES"
        else:
            limit, variable = self.settings.max_body_bytes, "LANNER_MAX_BODY_BYTES"
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_problem(send, too_large(limit, variable))
            return
        received = 0
        started = False

        async def bounded_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(too_large(limit, variable))
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
        except BodyTooLarge as exc:
            if not started:
                await _send_problem(send, exc.problem)


def too_large(limit: int, variable: str = "LANNER_MAX_BODY_BYTES") -> ApiProblem:
    return ApiProblem(413, f"the request body is larger than {limit} bytes",
                      hint=f"send less, or raise {variable} on the server")
