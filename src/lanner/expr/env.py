"""What filters and functions receive: the variables, the services of the running task, limits.

Filters are called as `f(env, value, *args, **kwargs)` and functions as `f(env, *args,
**kwargs)`, with Pebble's argument names as Python keyword names (`date(format=…, timeZone=…)`),
so a template's named arguments bind without a translation table.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol


def _limit(name: str, default: float) -> Any:
    """A sandbox limit from the environment (read once, at import); a bad value keeps the default."""
    raw = os.environ.get(name, "").strip()
    try:
        value = type(default)(raw)
    except ValueError:
        return default
    return value if value > 0 else default


# Sandbox limits: no template may build more than this, whatever its input (docs/limits.md).
MAX_ITEMS: int = _limit("LANNER_TEMPLATE_MAX_ITEMS", 100_000)  # elements of a list, a range, a loop's data
MAX_OUTPUT: int = _limit("LANNER_TEMPLATE_MAX_OUTPUT", 10 * 1024 * 1024)  # characters of a string or a render
MAX_TOKENS: int = _limit("LANNER_TEMPLATE_MAX_TOKENS", 100_000)  # parts of one template (memory once compiled)
MAX_RENDER_DEPTH: int = _limit("LANNER_TEMPLATE_MAX_RENDER_DEPTH", 10)  # render() inside render()
MAX_RENDER_PASSES = 100  # render() of a value that keeps producing templates
MAX_STEPS: int = _limit("LANNER_TEMPLATE_MAX_STEPS", 1_000_000)  # loop iterations and render() calls, in all
TIME_BUDGET: float = _limit("LANNER_TEMPLATE_TIMEOUT", 60.0)  # seconds one render may run its loops and renders
REGEX_TIMEOUT: float = _limit("LANNER_REGEX_TIMEOUT", 5.0)  # seconds one regular expression may run
JQ_TIMEOUT: float = _limit("LANNER_JQ_TIMEOUT", 30.0)  # seconds one jq program may run
JQ_MEMORY_MB: int = _limit("LANNER_JQ_MEMORY_MB", 1024)  # address space of the jq helper process


class Services(Protocol):
    """Doors to the world that only a running task has (the worker provides them)."""

    def read(self, uri: str) -> str:
        """The text of an internal-storage file (`kestra://…`)."""

    def namespace_file(self, path: str, namespace: str | None) -> str:
        """The text of a namespace file (the flow's namespace unless `namespace` is given)."""

    def secret(self, name: str) -> str:
        """A secret's value; the worker also masks it in the task's logs."""

    def error_logs(self) -> list[dict[str, Any]]:
        """The ERROR log lines of the current execution so far."""

    def kv(self, key: str, namespace: str | None, error_on_missing: bool) -> Any:
        """A KV value (the flow's namespace and its parents when `namespace` is None); None
        when missing and not `error_on_missing`."""


@dataclasses.dataclass(slots=True)
class Env:
    variables: Mapping[str, Any]
    services: Services | None = None
    # render(text, variables) → str, provided by the evaluator for the `render()` function
    render_text: Callable[[str, Mapping[str, Any]], str] | None = None
    depth: int = 0


Filter = Callable[..., Any]
Function = Callable[..., Any]
