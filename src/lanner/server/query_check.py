"""Query parameters a route does not read are refused (400 naming them), never ignored.

A Kestra user who sends `?namspace=` (a typo) or a filter Lanner does not implement must learn
it at once, not read a page of unfiltered results as if the filter had applied. The allowed
names are the query parameters FastAPI knows for the matched route (its own and its
dependencies'); webhooks take any parameter, since they hand them to the flow.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant

from lanner.server.problems import ApiProblem

OPEN_ROUTES = ("/executions/webhook/",)


def _names(dependant: Dependant) -> set[str]:
    out = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        out |= _names(sub)
    return out


async def check_query(request: Request) -> None:
    """Raise a 400 problem naming every query parameter the matched route does not take.

    `async` though it never waits: FastAPI runs a plain `def` dependency on a worker thread, a
    hand-off per request (see `server/dependencies.py`)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or any(part in getattr(route, "path", "") for part in OPEN_ROUTES):
        return
    allowed = _names(dependant)
    unknown = sorted({name for name in request.query_params if name not in allowed})
    if unknown:
        listed = ", ".join(f"`{n[:40]}`" for n in unknown[:10])
        raise ApiProblem(400, f"unknown query parameter{'s' if len(unknown) > 1 else ''} {listed}",
                         hint=("this endpoint takes: " + ", ".join(sorted(allowed))) if allowed
                         else "this endpoint takes no query parameters")
