"""Errors as JSON problems (RFC 7807 shape plus Kestra's `message`), never a traceback.

Every error the API returns has a `message` for people; validation problems add `errors`, each
with its own message, hint and position in the YAML (line, column, path), which the web editor
uses to mark the line.
"""

from __future__ import annotations

import http
import logging
from typing import Any

from lanner.errors import LannerError, ValidationErrors
from lanner.model.ids import BadIdentifier

log = logging.getLogger("lanner.server")
MEDIA_TYPE = "application/problem+json"


class ApiProblem(Exception):
    def __init__(self, status: int, message: str, *, hint: str | None = None,
                 errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        """`extra` adds fields of Kestra's own error shapes (e.g. a bulk answer's `invalids`)."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        try:
            title = http.HTTPStatus(self.status).phrase
        except ValueError:
            title = "Error"
        out: dict[str, Any] = {"type": "about:blank", "title": title, "status": self.status,
                               "message": self.message, "detail": self.message}
        if self.hint:
            out["hint"] = self.hint
        if self.errors:
            out["errors"] = self.errors
            out["_embedded"] = {"errors": [{"message": e["message"], "path": e.get("path")} for e in self.errors]}
        out.update(self.extra)
        return out


def error_items(exc: LannerError) -> list[dict[str, Any]]:
    """Each problem of a (multi-)error with its location, for JSON."""
    problems = exc.errors if isinstance(exc, ValidationErrors) else [exc]
    out = []
    for p in problems:
        where = p.where
        out.append({"message": p.message, "hint": p.hint, "line": where.line, "column": where.column,
                    "path": where.path, "text": p.render() if not isinstance(p, ValidationErrors) else p.message})
    return out


def from_lanner(exc: LannerError, status: int = 422) -> ApiProblem:
    items = error_items(exc)
    if isinstance(exc, ValidationErrors):
        message = "; ".join(i["text"] for i in items[:5]) + ("; …" if len(items) > 5 else "")
    else:
        message = exc.render()
    return ApiProblem(status, message, hint=None if isinstance(exc, ValidationErrors) else exc.hint, errors=items)


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, f"{what} was not found")


def install(app: Any) -> None:
    """Register the handlers that turn every exception into a problem response."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    def respond(problem: ApiProblem) -> JSONResponse:
        return JSONResponse(problem.body(), status_code=problem.status, media_type=MEDIA_TYPE,
                            headers=problem.headers)

    async def on_problem(_request: Any, exc: ApiProblem) -> JSONResponse:
        return respond(exc)

    async def on_lanner(_request: Any, exc: LannerError) -> JSONResponse:
        return respond(from_lanner(exc))

    async def on_validation(_request: Any, exc: RequestValidationError) -> JSONResponse:
        errors = [{"message": f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}", "path": ".".join(
            str(p) for p in e["loc"]), "hint": None, "line": None, "column": None} for e in exc.errors()]
        # A wrong query or path parameter is a malformed request (400); a body that parsed but does
        # not fit the schema stays 422, as for flows and inputs.
        status = 400 if all(e["loc"] and e["loc"][0] in ("query", "path") for e in exc.errors()) else 422
        return respond(ApiProblem(status, "invalid request: " + "; ".join(str(e["message"]) for e in errors),
                                  errors=errors))

    async def on_identifier(_request: Any, exc: BadIdentifier) -> JSONResponse:
        from lanner.server.identifiers import bad_identifier

        return respond(bad_identifier(exc))

    async def on_http(_request: Any, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail) if exc.detail else http.HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and message == "Not Found":
            message = "no such API path; see /api/v1/openapi.json"
        return respond(ApiProblem(exc.status_code, message, headers=dict(exc.headers or {})))

    async def on_any(_request: Any, exc: Exception) -> JSONResponse:
        log.exception("unexpected error while answering a request")
        return respond(ApiProblem(500, "internal error while answering this request; the server log has the details"))

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(LannerError, on_lanner)
    app.add_exception_handler(BadIdentifier, on_identifier)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_any)
