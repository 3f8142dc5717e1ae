"""Subflow chains that come back to a flow already in them, refused before anything runs.

A flow whose Subflow starts the same flow again (directly, or through other flows) starts
executions without end: one `lanner run` of such a flow once created 86,442 executions in ten
minutes. Where the chain can be seen in the text — `namespace` and `flowId` are literal
strings, not templates — validation refuses it at the Subflow task that closes the loop. A
chain whose target is computed cannot be seen here; the runtime's Subflow depth limit guards it.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable
from typing import Any

from lanner.errors import Located, ValidationError
from lanner.model import yaml_source
from lanner.model.flow import Flow

HINT = ("a flow cannot call itself, even through other flows; start a different flow there "
        "(a flowId computed by a template is only limited at run time, by the Subflow depth)")


# The task classes that start executions of another flow, by module and name (never imported here).
_STARTERS = (("lanner.plugins.core.execution", "Subflow"), ("lanner.plugins.core.for_each_item", "ForEachItem"))


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """A Subflow task whose target flow is written literally."""

    task_id: str
    target: str  # "namespace.flowId"


def literal_calls(flow: Flow) -> list[Call]:
    """The Subflow and ForEachItem tasks of `flow` (nested ones too) whose namespace and flowId are
    not templates."""
    # A module no task of the flow was built from holds no task of the flow: it is not imported.
    kinds = tuple(getattr(sys.modules[name], cls) for name, cls in _STARTERS if name in sys.modules)
    if not kinds:
        return []
    calls: list[Call] = []
    for task in flow.all_tasks():
        if isinstance(task, kinds) and not _computed(task.namespace) and not _computed(task.flowId):
            calls.append(Call(task.id, f"{task.namespace}.{task.flowId}"))
    return calls


def _computed(value: str) -> bool:
    return "{{" in value or "{%" in value


def check_chains(roots: Iterable[Flow], known: Iterable[Flow]) -> list[ValidationError]:
    """Every literal Subflow chain from a flow of `roots`, through `known` flows, that comes back.

    One error per Subflow task that closes a loop, located at that task in its own file, with
    the chain that leads there (`ns.a → ns.b → ns.a`).
    """
    flows = {f.uid: f for f in known}
    for f in roots:
        flows.setdefault(f.uid, f)
    calls = {uid: literal_calls(f) for uid, f in flows.items()}
    found: dict[tuple[str, str], list[str]] = {}  # (flow uid, task id) → the chain it closes

    def visit(uid: str, chain: list[str], done: set[str]) -> None:
        for call in calls.get(uid, []):
            if call.target in chain:
                loop = chain[chain.index(call.target):] + [call.target]
                found.setdefault((uid, call.task_id), loop)
            elif call.target in flows and call.target not in done:
                visit(call.target, chain + [call.target], done)
        done.add(uid)

    for f in roots:
        visit(f.uid, [f.uid], set())
    return [_error(flows[uid], task_id, chain) for (uid, task_id), chain in found.items()]


def _error(flow: Flow, task_id: str, chain: list[str]) -> ValidationError:
    path, line, col = _where(flow, task_id)
    return ValidationError(f"{path} ({task_id}): Subflow starts flow `{chain[-1]}` again ({' → '.join(chain)})",
                           hint=HINT, where=Located(flow.file, line, col))


def _where(flow: Flow, task_id: str) -> tuple[str, int | None, int | None]:
    """The property path (`tasks[0].tasks[1]`) and position of the task with this id in the flow's text."""
    try:
        root = yaml_source.load(flow.source) if flow.source else None
    except yaml_source.YamlError:  # the flow was loaded from this text: cannot happen, but no position then
        root = None
    if isinstance(root, dict):
        for key in ("tasks", "errors", "finally", "afterExecution", "listeners"):
            hit = _find(root, key, root.get(key), key, task_id)
            if hit is not None:
                return hit
    return f"task `{task_id}`", None, None


def _find(container: Any, key: Any, node: Any, path: str,
          task_id: str) -> tuple[str, int | None, int | None] | None:
    if isinstance(node, dict):
        if node.get("id") == task_id and "type" in node:
            line, col = yaml_source.position(container, key)
            return path, line, col
        for k, v in node.items():
            hit = _find(node, k, v, f"{path}.{k}", task_id)
            if hit is not None:
                return hit
    elif isinstance(node, list):
        for i, item in enumerate(node):
            hit = _find(node, i, item, f"{path}[{i}]", task_id)
            if hit is not None:
                return hit
    return None
