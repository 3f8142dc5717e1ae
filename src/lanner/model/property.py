"""Property types for task models.

Kestra lets almost every task property hold a `{{ … }}` expression that is only rendered when
the task runs (`timeout: "{{ inputs.t }}"`). A typed property therefore accepts either a value
of its type, known at validation time, or a template string, checked for syntax at validation
and rendered and converted by the worker.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator

from lanner.errors import LannerError
from lanner.model.duration import parse_duration


def is_template(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _duration_or_template(value: Any) -> Any:
    if is_template(value) or value is None:
        return value
    try:
        return parse_duration(value)
    except LannerError as exc:  # pydantic reports ValueErrors at the property's line
        raise ValueError(f"{exc.message}; {exc.hint}" if exc.hint else exc.message) from None


def _bool_or_template(value: Any) -> Any:
    if isinstance(value, str) and not is_template(value):
        low = value.strip().lower()
        if low in ("true", "false"):
            return low == "true"
    return value


# A duration (ISO-8601, e.g. PT1S) or a template that renders to one.
Duration = Annotated[dt.timedelta | str, BeforeValidator(_duration_or_template)]
# A boolean, the strings "true"/"false", or a template.
Bool = Annotated[bool | str, BeforeValidator(_bool_or_template)]
# An integer or a template.
Int = int | str
