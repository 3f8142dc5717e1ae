"""KV values and their types (Kestra's KVType): converting a value to a declared type, inferring
the type of an undeclared one.

Shared by the `Set` task (a `kvType` property or a rendered value), the API (a request body) and
the store, so a value stored by any of them reads back the same. Values are kept JSON-ready:
DATETIME as an ISO-8601 UTC instant (`2024-05-01T10:00:00Z`), DATE as `2024-05-01`, DURATION
as an ISO-8601 duration (`PT1H30M`), which is also how a template prints them.

Kestra is loose here (a BOOLEAN of "yes" silently becomes false, a DATE must be written as a full
instant); Lanner refuses a value that is not of the declared type, saying which and why.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from lanner.errors import LannerError
from lanner.model.duration import format_duration, parse_duration

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DURATION = re.compile(r"^-?P(?=.)(?:\d+W)?(?:\d+D)?(?:T(?=.)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$")


def _refuse(kv_type: str, value: Any, example: str) -> LannerError:
    shown = value if isinstance(value, str) else json.dumps(value, default=str)
    shown = shown if len(shown) <= 60 else shown[:57] + "…"
    return LannerError(f"the value `{shown}` is not a {kv_type}", hint=f"give a {kv_type} value such as {example}, "
                       "or change kvType")


def instant(text: str) -> str:
    """An ISO-8601 date-time as Kestra's UTC instant text; a time without offset is taken as UTC."""
    moment = dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace(".000+00:00", "Z") \
        .replace("+00:00", "Z")


def coerce(kv_type: str, value: Any) -> Any:
    """`value` as the JSON-ready form of `kv_type`; raises `LannerError` when it is not one."""
    if kv_type == "STRING":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if kv_type == "NUMBER":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number = json.loads(value.strip())
            except ValueError:
                number = None
            if isinstance(number, (int, float)) and not isinstance(number, bool):
                return number
        raise _refuse(kv_type, value, "42 or 3.14")
    if kv_type == "BOOLEAN":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _refuse(kv_type, value, "true or false")
    if kv_type == "DATETIME":
        try:
            return instant(str(value))
        except ValueError:
            raise _refuse(kv_type, value, "2024-05-01T10:00:00Z") from None
    if kv_type == "DATE":
        text = str(value).strip()
        try:
            day = dt.date.fromisoformat(text) if _DATE.match(text) else dt.datetime.fromisoformat(text).date()
        except ValueError:
            raise _refuse(kv_type, value, "2024-05-01") from None
        return day.isoformat()
    if kv_type == "DURATION":
        try:
            return format_duration(parse_duration(value))
        except LannerError:
            raise _refuse(kv_type, value, "PT1H30M or P1D") from None
    if kv_type == "JSON":
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise LannerError(f"the value is not JSON: {exc}", hint="give a JSON document, or use kvType: STRING") \
                    from None
        return value
    raise LannerError(f"unknown KV type `{kv_type}`",
                      hint="use one of STRING, NUMBER, BOOLEAN, DATETIME, DATE, DURATION, JSON")


def infer(value: Any) -> str:
    """The type of a value given without one: what it is, as Kestra's KVType.from decides."""
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, (int, float)):
        return "NUMBER"
    if isinstance(value, (dict, list)):
        return "JSON"
    if isinstance(value, dt.datetime):
        return "DATETIME"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, dt.timedelta):
        return "DURATION"
    return "STRING"


def from_text(body: str) -> tuple[str, Any]:
    """The type and value of a request body: JSON when it parses (a number, `true`, an object, a
    quoted string), else an ISO date, date-time or duration when it is one, else the text itself
    as a STRING.

    A quoted string stays a STRING whatever it looks like (`"2024-05-01"`, `"PT5M"`), as Kestra's
    reader of the body takes it: quoting is how a client (the UI's type selector, Terraform's
    `type`) keeps a date-like text a string; the bare `2024-05-01` is a DATE.
    """
    text = body.strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        for kv_type, shape in (("DATE", _DATE), ("DATETIME", _DATETIME), ("DURATION", _DURATION)):
            if shape.match(text):
                try:
                    return kv_type, coerce(kv_type, text)
                except LannerError:
                    break
        return "STRING", text
    if isinstance(parsed, str):
        return "STRING", parsed
    if parsed is None:
        raise LannerError("a KV value cannot be null", hint="send a value, or DELETE the key")
    return infer(parsed), parsed
