"""Values in and out of Redis: Kestra's `serdeType` (STRING or JSON) and the typed properties.

Redis stores strings. With `serdeType: STRING` a value is stored as written; with `JSON` a value
is stored as compact JSON and read back as a structure, so `{{ outputs.get.data.city }}` works.
A JSON value given as a string must itself be valid JSON (`{"a": 1}`, `"text"`, `5`): Kestra
parses it before storing and fails on `value: hello`, and so do we — a typo fails where it is made,
not in the task that reads the key later.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator

from lanner.errors import LannerError
from lanner.expr.values import stringify
from lanner.model.duration import parse_duration
from lanner.model.property import is_template
from lanner.plugins.api import RunContext, TaskFailure

Serde = Literal["STRING", "JSON"]


def _serde_or_template(value: str) -> str:
    if is_template(value):
        return value
    name = value.strip().upper()
    if name not in ("STRING", "JSON"):
        raise ValueError(f"`serdeType` must be STRING or JSON, got `{value}`")
    return name


# STRING or JSON (any case), or a template rendering to one of them.
SerdeType = Annotated[str, AfterValidator(_serde_or_template)]


def render_serde(ctx: RunContext, value: str) -> Serde:
    name = str(ctx.render(value)).strip().upper()
    if name == "STRING":
        return "STRING"
    if name == "JSON":
        return "JSON"
    raise TaskFailure(f"`serdeType` must be STRING or JSON, got `{name}`")


def to_json(value: Any) -> str:
    """Compact JSON as Jackson writes it (no spaces, UTF-8 kept as is)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def serialize(value: Any, serde: Serde, what: str) -> str:
    """The string stored in Redis for a value; `what` names the value in messages (`value`, `from[2]`)."""
    if serde == "STRING":
        return stringify(value)  # the text Kestra would store with the STRING serde
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            shown = value if len(value) <= 60 else value[:57] + "..."
            raise TaskFailure(f"`{what}` is not valid JSON ({exc.msg} at position {exc.pos}) but `serdeType` "
                              f"is JSON: `{shown}`; "
                              "quote a plain text as a JSON string or use serdeType STRING") from None
    return to_json(value)


def deserialize(payload: str | None, serde: Serde, key: str) -> Any:
    """A value read from Redis; None stays None (a missing key)."""
    if payload is None or serde == "STRING":
        return payload
    try:
        return json.loads(payload)
    except json.JSONDecodeError as exc:
        shown = payload if len(payload) <= 60 else payload[:57] + "..."
        raise TaskFailure(f"The value of key `{key}` is not valid JSON ({exc.msg}): `{shown}`; "
                          "read it with serdeType STRING") from None


def render_duration(ctx: RunContext, value: dt.timedelta | str | None, name: str) -> dt.timedelta | None:
    """A Kestra `Property<Duration>`: an ISO-8601 duration (PT10S) or a template rendering to one."""
    if value is None or isinstance(value, dt.timedelta):
        return value
    text = str(ctx.render(value)).strip()
    try:
        return parse_duration(text)
    except LannerError:
        raise TaskFailure(f"`{name}` must be an ISO-8601 duration such as PT10S or P1D, got `{text}`") from None


def render_datetime(ctx: RunContext, value: dt.datetime | str | None, name: str) -> dt.datetime | None:
    """A Kestra `ZonedDateTime`: ISO-8601 with an offset (`2030-01-01T00:00:00Z`); a zone id in brackets is dropped."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(ctx.render(value)).strip()
        try:
            parsed = dt.datetime.fromisoformat(text.split("[", 1)[0])
        except ValueError:
            raise TaskFailure(f"`{name}` must be a date-time such as 2030-01-01T00:00:00Z, got `{text}`") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
