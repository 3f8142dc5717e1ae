"""Does an execution that just changed state start a flow through its `Flow` trigger?

Kestra's ways of saying which executions count are all read: `conditions` (a list of typed
conditions that must all hold) plus the trigger's `states`; among the conditions a
`MultipleCondition` (several conditions, each met by some execution within a time window:
`multiple_conditions.py`); and `preconditions` (flows that must each have had a matching
execution, within a time window, before the trigger fires).
A flow never triggers itself, which would loop forever.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from lanner.model.duration import parse_duration
from lanner.model.listener import holds
from lanner.model.state import iso, now, parse_iso
from lanner.runtime import multiple_conditions
from lanner.runtime.triggers import FlowSpec, Precondition

DEFAULT_WINDOW = dt.timedelta(hours=24)


@dataclasses.dataclass(frozen=True, slots=True)
class Ended:
    """What the scheduler is told about an execution that changed state."""

    id: str
    namespace: str
    flow_id: str
    flow_revision: int
    state: str
    labels: dict[str, str]
    outputs: dict[str, Any]
    trigger: dict[str, Any] | None

    def variables(self) -> dict[str, Any]:
        """The triggered execution's `trigger.*` (Kestra's Flow trigger variables)."""
        return {"executionId": self.id, "namespace": self.namespace, "flowId": self.flow_id,
                "flowRevision": self.flow_revision, "state": self.state, "executionLabels": dict(self.labels),
                "outputs": dict(self.outputs)}


def condition_holds(cond: dict[str, Any], e: Ended) -> bool:
    """One Kestra condition (`model/listener.py:holds`, shared with listeners); an unknown
    condition type never holds (so nothing fires by surprise)."""

    def truthy(template: str) -> bool:
        from lanner import expr

        try:
            return expr.is_truthy(expr.render(template, {"trigger": e.variables()}))
        except Exception:  # noqa: BLE001 - a broken expression means "no"
            return False

    return holds(cond, e.state, e.namespace, e.flow_id, e.labels, truthy)


def _precondition_holds(p: Precondition, e: Ended) -> bool:
    if p.namespace and p.namespace != e.namespace:
        return False
    if p.flowId and p.flowId != e.flow_id:
        return False
    if e.state not in p.states:
        return False
    labels = p.labels or {}
    return all(e.labels.get(str(k)) == str(v) for k, v in labels.items())


def matches(spec: FlowSpec, flow_namespace: str, flow_id: str, e: Ended) -> bool:
    """Whether `e` counts for this trigger at all (states and conditions); preconditions aside."""
    if e.namespace == flow_namespace and e.flow_id == flow_id:
        return False
    if spec.preconditions is None and e.state not in spec.states:
        return False
    if spec.preconditions is not None and not any(_precondition_holds(p, e) for p in spec.preconditions.flows):
        return False
    return all(condition_holds(c, e) for c in spec.conditions if not multiple_conditions.is_multiple(c))


def advance_multiple(spec: FlowSpec, state: dict[str, Any], e: Ended,
                     at: dt.datetime | None = None) -> tuple[bool, dict[str, Any]]:
    """Record `e` against the trigger's MultipleConditions; (fire now?, new persisted state).
    A trigger without one fires on every execution that `matches`."""
    found = [multiple_conditions.MultipleCondition.model_validate(c)
             for c in spec.conditions if multiple_conditions.is_multiple(c)]
    if not found:
        return True, state
    progress = multiple_conditions.advance(found, state, at or now(), lambda cond: condition_holds(cond, e))
    return progress.fire, progress.state


def advance_preconditions(spec: FlowSpec, state: dict[str, Any], e: Ended,
                          at: dt.datetime | None = None) -> tuple[bool, dict[str, Any]]:
    """Record `e` against the preconditions; (fire now?, new persisted state).

    Each listed flow is satisfied by one matching execution; when all are, the trigger fires and
    starts over. Satisfactions older than the time window (24 h unless `timeWindow.window`) expire.
    """
    pre = spec.preconditions
    if pre is None or not pre.flows:
        return True, state
    at = at or now()
    window = DEFAULT_WINDOW
    raw_window = (pre.timeWindow or {}).get("window")
    if raw_window:
        try:
            window = parse_duration(raw_window)
        except Exception:  # noqa: BLE001 - a bad window falls back to the default
            window = DEFAULT_WINDOW
    seen: dict[str, dict[str, str]] = {k: v for k, v in (state.get("seen") or {}).items()
                                       if at - parse_iso(v["date"]) <= window}
    for i, p in enumerate(pre.flows):
        if _precondition_holds(p, e):
            seen[str(i)] = {"executionId": e.id, "date": iso(at)}
    if len(seen) == len(pre.flows):
        return True, {"seen": {}}
    return False, {"seen": seen}
