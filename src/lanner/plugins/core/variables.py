"""SetVariables and UnsetVariables: tasks that change the execution's variables (`{{ vars.x }}`).

The executor applies them (their `effect` is "variables"): each task computes the new variables
from the current ones, and the executor stores them on the execution, so every later task —
on a worker or rendered by the executor — sees them. Until one of them runs, an execution's
variables are its flow's `variables`, as in Kestra.
"""

from __future__ import annotations

import copy
import json
from typing import Any, ClassVar

from lanner.model.maps import deep_merge
from lanner.plugins.api import ExecutionEffect, ExecutionTask, RunContext, TaskFailure
from lanner.plugins.properties import render_bool, render_list


def _rendered_map(ctx: RunContext, value: dict[str, Any] | str) -> dict[str, Any]:
    """`variables` of SetVariables: a map (its values rendered, keeping their types), or a template
    rendering to one or to its JSON text."""
    rendered = ctx.render_typed(value)
    if isinstance(rendered, str):
        try:
            rendered = json.loads(rendered)
        except json.JSONDecodeError:
            pass
    if not isinstance(rendered, dict):
        raise TaskFailure(f"`variables` rendered to a {type(rendered).__name__}; it must be a map of variables")
    return rendered


class SetVariables(ExecutionTask):
    """Merge `variables` into the execution's variables (nested maps merged key by key).

    With `overwrite: false`, a variable that already exists fails the task instead, naming it.
    """

    effect: ClassVar[ExecutionEffect | None] = "variables"

    variables: dict[str, Any] | str
    overwrite: bool | str = True

    def updated_variables(self, ctx: RunContext, current: dict[str, Any]) -> dict[str, Any]:
        new = _rendered_map(ctx, self.variables)
        if not render_bool(ctx, self.overwrite, "overwrite"):
            existing = [key for key in new if key in current]
            if existing:
                raise TaskFailure("`overwrite` is false and these variables already exist: "
                                  + ", ".join(existing))
        return deep_merge(current, new)


class UnsetVariables(ExecutionTask):
    """Remove variables from the execution; `a.b` names the key `b` of the map `a`.

    A variable that does not exist fails the task, unless `ignoreMissing` is true.
    """

    effect: ClassVar[ExecutionEffect | None] = "variables"

    variables: list[str] | str
    ignoreMissing: bool | str = False

    def updated_variables(self, ctx: RunContext, current: dict[str, Any]) -> dict[str, Any]:
        names = render_list(ctx, self.variables, "variables")
        ignore_missing = render_bool(ctx, self.ignoreMissing, "ignoreMissing")
        out = copy.deepcopy(current)  # the stored variables change only when every name was found
        for name in names:
            *path, last = name.split(".")
            holder: Any = out
            for key in path:
                holder = holder.get(key) if isinstance(holder, dict) else None
            if isinstance(holder, dict) and last in holder:
                del holder[last]
            elif not ignore_missing:
                raise TaskFailure(f"variable `{name}` does not exist; set `ignoreMissing: true` to go on without it")
        return out
