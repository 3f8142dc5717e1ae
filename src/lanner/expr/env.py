"""What filters and functions receive: the variables, the services of the running task, limits.

Filters are called as `f(env, value, *args, **kwargs)` and functions as `f(env, *args,
**kwargs)`, with Pebble's argument names as Python keyword names (`date(format=…, timeZone=…)`),
so a template's named arguments bind without a translation table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Protocol

# Sandbox limits: no template may build more than this, whatever its input.
MAX_ITEMS = 100_000  # elements of a range, a loop, a list built by a filter
MAX_OUTPUT = 10 * 1024 * 1024  # characters of one rendered template
MAX_DEPTH = 64  # nesting of expressions, tags, and render() recursion
MAX_RENDER_PASSES = 100  # render() of a value that keeps producing templates


class Services(Protocol):
    """Doors to the world that only a running task has (the worker provides them)."""

    def read(self, uri: str) -> str:
        """The text of an internal-storage file (`kestra://…`)."""

    def secret(self, name: str) -> str:
        """A secret's value; the worker also masks it in the task's logs."""

    def error_logs(self) -> list[dict[str, Any]]:
        """The ERROR log lines of the current execution so far."""


@dataclasses.dataclass(slots=True)
class Env:
    variables: Mapping[str, Any]
    services: Services | None = None
    # render(text, variables) → str, provided by the evaluator for the `render()` function
    render_text: Callable[[str, Mapping[str, Any]], str] | None = None
    depth: int = 0


Filter = Callable[..., Any]
Function = Callable[..., Any]
