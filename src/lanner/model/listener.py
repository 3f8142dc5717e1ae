"""A flow's `listeners` (deprecated in Kestra, still run): tasks run after the execution ended,
when all of the listener's `conditions` hold on the ended execution.

Only the conditions that can be decided from the ended execution itself are accepted; the
others Kestra allows on triggers (dates, schedules, multiple flows…) mean nothing here and are
refused at validation rather than silently treated as true or false. `holds` is also what a
Flow trigger's conditions use (`runtime/flow_trigger.py`), so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lanner.model.defaults import empty_list
from lanner.model.task import Task

LISTENER_CONDITIONS = ("ExecutionStatus", "ExecutionFlow", "ExecutionNamespace", "ExecutionLabels", "Expression")
DEPRECATION = ("`listeners` are deprecated in Kestra (disabled there by default since 0.12); Lanner still runs "
               "them, but prefer `afterExecution` tasks with `runIf`, or a flow with a Flow trigger")


def condition_kind(type_name: str) -> str:
    """`io.kestra.plugin.core.condition.ExecutionStatus` and the old `…ExecutionStatusCondition`
    are one kind: `ExecutionStatus`."""
    name = str(type_name).rsplit(".", 1)[-1]
    return name[: -len("Condition")] if name.endswith("Condition") and name != "Condition" else name


def holds(cond: dict[str, Any], state: str, namespace: str, flow_id: str, labels: dict[str, str],
          truthy: Callable[[str], bool]) -> bool:
    """One condition on an ended execution; `truthy` renders an `Expression` condition's template
    with the variables its caller gives expressions. An unknown kind never holds."""
    kind = condition_kind(cond.get("type", ""))
    if kind in ("Not", "Or"):  # Kestra: Not holds when none of its conditions does, Or when one does
        inner = [holds(c, state, namespace, flow_id, labels, truthy) for c in cond.get("conditions") or []]
        return not any(inner) if kind == "Not" else any(inner)
    if kind == "ExecutionStatus":
        allowed, denied = cond.get("in") or [], cond.get("notIn") or []
        return (not allowed or state in allowed) and state not in denied
    if kind in ("ExecutionFlow", "Flow"):
        return namespace == cond.get("namespace") and flow_id == cond.get("flowId")
    if kind in ("ExecutionNamespace", "FlowNamespace"):
        ns = str(cond.get("namespace", ""))
        comparison = str(cond.get("comparison") or ("PREFIX" if cond.get("prefix") else "EQUALS")).upper()
        if comparison == "PREFIX":
            return namespace == ns or namespace.startswith(ns)
        if comparison == "SUFFIX":
            return namespace.endswith(ns)
        return namespace == ns
    if kind == "ExecutionLabels":
        wanted = cond.get("labels") or {}
        if isinstance(wanted, list):
            wanted = {i.get("key"): i.get("value") for i in wanted if isinstance(i, dict)}
        return all(labels.get(str(k)) == str(v) for k, v in wanted.items())
    if kind == "Expression":
        return truthy(str(cond.get("expression", "")))
    return False


class ListenerCondition(BaseModel):
    """One condition of a listener: the properties of every accepted kind, each checked to belong."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    type: str
    in_: list[str] | None = Field(default=None, alias="in")
    notIn: list[str] | None = None
    namespace: str | None = None
    flowId: str | None = None
    comparison: str | None = None
    prefix: bool | None = None
    labels: dict[str, Any] | list[dict[str, Any]] | None = None
    expression: str | None = None

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        if condition_kind(value) not in LISTENER_CONDITIONS:
            raise ValueError(f"condition `{value}` is not supported in listeners by Lanner; use one of "
                             f"{', '.join(LISTENER_CONDITIONS)} (io.kestra.plugin.core.condition.…)")
        return value

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class Listener(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    description: str | None = None
    conditions: list[ListenerCondition] = Field(default_factory=empty_list)
    tasks: list[Task] = Field(min_length=1)
