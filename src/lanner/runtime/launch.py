"""Starting an execution of a stored flow, the one path shared by the API and every trigger.

Inputs are validated and typed before anything is stored, so a bad value is an error for the
caller (HTTP 422, or a logged trigger failure) and never a FAILED execution. Triggers pass a
deterministic execution id (`trigger_execution_id`) so that a fire repeated after a crash finds
the execution it already created instead of creating a second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lanner.model.execution import Execution

if TYPE_CHECKING:
    from lanner.model.flow import Flow
    from lanner.model.inputs import Via
    from lanner.runtime.local import LocalRuntime

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def start_execution(runtime: LocalRuntime, flow: Flow, given: Mapping[str, Any],
                    labels: Mapping[str, str] | None = None, trigger: dict[str, Any] | None = None,
                    execution_id: str | None = None, via: Via = "api",
                    created: Callable[[Execution], None] | None = None) -> Execution:
    """Validate inputs, store a CREATED execution, hand it to the executor loop. Thread-safe.

    `via` says who supplied the inputs (`api` or `trigger`), for the words of input errors.
    `created` sees the execution stored and not yet handed over: once it is, the executor loop
    changes it (the API answers with the execution as created, and must not read it meanwhile).

    Raises `ValidationErrors` for bad inputs and `LannerError` for a disabled flow.
    """
    from lanner.errors import LannerError
    from lanner.model.inputs import resolve_inputs

    if flow.disabled:
        raise LannerError(f"Cannot execute a disabled flow `{flow.namespace}.{flow.id}`",
                          hint="set `disabled: false` to run it")
    inputs = resolve_inputs(flow, dict(given), via)
    exe = runtime.create(flow, inputs, dict(labels or {}), trigger=trigger, execution_id=execution_id)
    if created is not None:
        created(exe)
    runtime.submit(flow, exe)
    return exe


def trigger_execution_id(*parts: str) -> str:
    """A 22-character base62 id derived from the fire's identity (flow, trigger, date or event)."""
    n = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()[:17], "big")
    out = []
    for _ in range(22):
        n, r = divmod(n, 62)
        out.append(_ALPHABET[r])
    return "".join(out)


def render_trigger_values(values: Any, trigger_vars: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Any:
    """Render a trigger's `inputs`/`labels` with `trigger.*` (and, for Flow triggers, the upstream context)."""
    from lanner import expr

    context: dict[str, Any] = {"trigger": dict(trigger_vars), **(extra or {})}
    return expr.render_value_typed(values, context)


def labels_of(raw: Any, trigger_vars: Mapping[str, Any]) -> dict[str, str]:
    """A trigger's `labels` (map or Kestra's key/value list), rendered."""
    if isinstance(raw, list):
        raw = {i.get("key"): i.get("value") for i in raw if isinstance(i, dict)}
    rendered = render_trigger_values(raw or {}, trigger_vars)
    return {str(k): str(v) for k, v in (rendered or {}).items()}
