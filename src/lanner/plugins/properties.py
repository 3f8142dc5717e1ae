"""Rendering typed task properties: each may be a literal or a `{{ … }}` template (Kestra's `Property<T>`).

Shared by every plugin, so a bad value fails with the same sentence whatever the task.
"""

from __future__ import annotations

import json
from typing import Any

from lanner.plugins.api import RunContext, TaskFailure


def render_str(ctx: RunContext, value: Any) -> str | None:
    if value is None:
        return None
    return str(ctx.render(value)) if isinstance(value, str) else str(value)


def render_bool(ctx: RunContext, value: Any, name: str) -> bool:
    """A Kestra `Property<Boolean>`: a boolean, or a string/template that renders to true or false."""
    if isinstance(value, bool):
        return value
    text = str(ctx.render(value)).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise TaskFailure(f"`{name}` must be true or false, got `{text}`")


def render_list(ctx: RunContext, value: Any, name: str) -> list[str]:
    """A Kestra `Property<List<String>>`: a YAML list, or a template rendering to a JSON list."""
    if value is None:
        return []
    if isinstance(value, str):
        rendered = ctx.render_typed(value)
        if isinstance(rendered, str):
            stripped = rendered.strip()
            if stripped.startswith("["):
                try:
                    rendered = json.loads(stripped)
                except json.JSONDecodeError as exc:
                    raise TaskFailure(f"`{name}` is not a JSON list: {exc.msg}") from None
            else:
                return [rendered]
        value = rendered
    if not isinstance(value, list):
        raise TaskFailure(f"`{name}` must be a list, got {type(value).__name__}")
    return [str(ctx.render(v)) if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list))
            else str(v).lower() if isinstance(v, bool) else str(v) for v in value]


def render_int(ctx: RunContext, value: int | str | None, name: str) -> int | None:
    """A Kestra `Property<Integer>`: a number or a template rendering to one."""
    if value is None or isinstance(value, int):
        return value
    text = str(ctx.render(value)).strip()
    try:
        return int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None and number.is_integer():
            return int(number)
    raise TaskFailure(f"`{name}` must be a whole number, got `{text}`")
