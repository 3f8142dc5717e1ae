"""Query parameters checked, not guessed: a wrong date, state or sort is a 400 that lists what
is allowed, never a 200 with a silently wrong page of results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from lanner.server.problems import ApiProblem


def instant(name: str, raw: str | None) -> dt.datetime | None:
    """An ISO 8601 date-time with its offset (`Z` or `+02:00`), as an aware datetime."""
    if raw is None or raw == "":
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace(" ", "+"))  # a `+` left unescaped in a URL
    except ValueError:
        raise ApiProblem(400, f"{name}=`{raw[:60]}` is not an ISO 8601 date-time",
                         hint=f"give e.g. {name}=2024-05-01T08:30:00Z or {name}=2024-05-01T10:30:00%2B02:00") from None
    if value.tzinfo is None:
        raise ApiProblem(400, f"{name}=`{raw[:60]}` has no UTC offset, so it names no single instant",
                         hint=f"add Z or an offset, e.g. {name}={raw.strip()}Z")
    return value


def states(raw: Iterable[str]) -> list[str]:
    """State names (repeated or comma-separated), upper-cased, each a known state."""
    from lanner.model.state import StateType

    allowed = [s.value for s in StateType]
    out = []
    for value in raw:
        for item in value.split(","):
            name = item.strip().upper()
            if not name:
                continue
            if name not in allowed:
                raise ApiProblem(400, f"state=`{item.strip()[:40]}` is not a state",
                                 hint="the states are: " + ", ".join(allowed))
            out.append(name)
    return out


def sort(raw: str | None, fields: Iterable[str]) -> str | None:
    """`field` or `field:asc|desc`, the field one of `fields`."""
    if raw is None or raw == "":
        return None
    name, sep, direction = raw.partition(":")
    known = sorted(fields)
    if name not in known:
        raise ApiProblem(400, f"sort=`{raw[:60]}`: `{name[:40]}` is not a field to sort by",
                         hint="sort by one of: " + ", ".join(known) + " (then :asc or :desc)")
    if sep and direction.lower() not in ("asc", "desc"):
        raise ApiProblem(400, f"sort=`{raw[:60]}`: the direction must be asc or desc", hint=f"e.g. sort={name}:desc")
    return f"{name}:{direction.lower()}" if sep else name
