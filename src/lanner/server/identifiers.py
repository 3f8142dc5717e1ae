"""Every identifier in a URL path checked before a route sees it.

A dependency of every API router: the path parameters are named the same in every route, so one
table says which pattern each one must match. A value that breaks its rule is answered 400 with
the rule, before any store lookup or file write.
"""

from __future__ import annotations

from fastapi import Request

from lanner.model import ids
from lanner.server.middleware import API_ROOTS
from lanner.server.problems import ApiProblem

TENANT = "main"  # the one tenant, as in Kestra's open-source edition
PATH_KINDS = {"tenant": "tenant", "namespace": "namespace", "flow_id": "flow id", "execution_id": "execution id",
              "key": "webhook key", "task_id": "task id", "trigger_id": "trigger id"}


def bad_identifier(exc: ids.BadIdentifier) -> ApiProblem:
    return ApiProblem(400, exc.message, hint=exc.hint,
                      errors=[{"message": exc.message, "path": exc.kind, "rule": exc.rule, "hint": exc.hint,
                               "line": None, "column": None}])


async def check_path(request: Request) -> None:
    """Raise a 400 problem for the first path parameter that is not a valid identifier.

    `async` though it never waits: FastAPI runs a plain `def` dependency on a worker thread, a
    hand-off per request (see `server/dependencies.py`)."""
    for name, value in request.path_params.items():
        kind = PATH_KINDS.get(name)
        if kind is not None:
            try:
                ids.check(kind, value)
            except ids.BadIdentifier as exc:
                raise bad_identifier(exc) from None
            if name == "tenant" and value in API_ROOTS:  # `/api/v1/flows/…` that matched no route of its own
                raise ApiProblem(404, "no such API path; see /api/v1/openapi.json")
            if name == "tenant" and value != TENANT:
                raise ApiProblem(404, f"tenant `{value}` does not exist: this server has one tenant, `{TENANT}`",
                                 hint=f"call /api/v1/{TENANT}/… or /api/v1/…")
