"""What every runtime does with the executor's decisions, written once.

`engine.executor.Executor` decides; a runtime carries the decisions out. The embedded runtime
(`runtime/local.py`) and the cluster roles (`runtime/cluster_*.py`) differ in *how* they store
and wake things up, but must not differ in *what* they do, or the two drift apart — a limit
enforced in one and not the other, a Subflow that gets its labels in one mode only. So the parts
that are about meaning live here and both call them:

- starting a Subflow: the flow looked up, a disabled flow refused, inputs resolved, trigger
  variables, labels and correlation id, the link to the parent, and the runaway guard (a maximum
  Subflow depth);
- the flow's `concurrency` limit: start, refuse (QUEUE / CANCEL / FAIL) or keep waiting;
- the executor itself, built with the surroundings it decides with (`executor`: this host's
  clock, ids, `ENV_*` and `SECRET_*` variables, `HOST`), so both runtimes hand it the same inputs;
- masking SECRET input values in log lines;
- the timers a decision arms (retries, pause delays and timeouts, MAX_DURATION SLAs).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable
from typing import Any

from lanner.engine.executor import Effects, Executor, SubflowStart
from lanner.engine.surroundings import Surroundings
from lanner.errors import LannerError
from lanner.model.execution import Execution
from lanner.model.flow import Flow
from lanner.model.inputs import secret_values
from lanner.model.results import LogEntry
from lanner.model.state import NOT_STARTED, StateType
from lanner.runtime import restart
from lanner.runtime.host import HOST

SUBFLOW = "io.kestra.plugin.core.flow.Subflow"
DEPTH_ENV = "LANNER_MAX_SUBFLOW_DEPTH"
DEFAULT_MAX_DEPTH = 10
CHAIN_KEY = "subflowChain"  # in an execution's trigger: the flows of its ancestors, root first
FlowLookup = Callable[[str, str, "int | None"], Flow]

# -- the executor ---------------------------------------------------------------------------------


def executor(flow: Flow, exe: Execution, max_task_runs: int, surroundings: Surroundings = HOST) -> Executor:
    """The executor of `exe`, deciding with the clock, ids and environment it is given: the
    engine reads none of them itself (engine/surroundings.py), the runtime chooses them here."""
    return Executor(flow, exe, max_task_runs, surroundings=surroundings)


# -- Subflow start --------------------------------------------------------------------------------


def max_subflow_depth() -> int:
    """How deep Subflows may nest (LANNER_MAX_SUBFLOW_DEPTH, default 10): a guard against a flow that
    starts itself without a condition to stop, which would otherwise create executions forever."""
    raw = os.environ.get(DEPTH_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_DEPTH
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise LannerError(f"{DEPTH_ENV} is `{raw}`, not a whole number of at least 1",
                          hint=f"set it to the deepest Subflow nesting you allow (default {DEFAULT_MAX_DEPTH})")
    return value


def chain_of(exe: Execution) -> list[str]:
    """The flows from the root execution down to `exe` (its own flow last)."""
    ancestors = list((exe.trigger or {}).get(CHAIN_KEY) or [])
    return [*ancestors, f"{exe.namespace}.{exe.flow_id}"]


def child_execution(parent: Execution, start: SubflowStart, lookup: FlowLookup) -> tuple[Flow, Execution]:
    """The child execution a Subflow task run starts (CREATED, not stored yet), with its flow.

    Raises LannerError, rendered into the Subflow run's failure, when the flow is missing or
    disabled, its inputs are invalid, or the child would nest deeper than the maximum depth.
    """
    from lanner.model.inputs import resolve_inputs

    chain = chain_of(parent)
    limit = max_subflow_depth()
    if len(chain) > limit:
        path = " → ".join([*chain, f"{start.namespace}.{start.flow_id}"])
        raise LannerError(f"Subflow depth limit ({limit}) reached: {path}",
                          hint=f"a flow that starts itself needs a condition to stop, or raise {DEPTH_ENV}")
    flow = lookup(start.namespace, start.flow_id, start.revision)
    if flow.disabled:
        raise LannerError(f"flow `{flow.namespace}.{flow.id}` is disabled", hint="enable it to run it")
    inputs = resolve_inputs(flow, start.inputs)
    variables: dict[str, Any] = {"executionId": parent.id, "namespace": parent.namespace, "flowId": parent.flow_id,
                                 "flowRevision": parent.flow_revision, "taskRunId": start.run_id, "wait": start.wait}
    if start.iteration is not None:  # one batch of a ForEachItem
        variables["taskRunIteration"] = start.iteration
    trigger = {"id": parent.by_id[start.run_id].task_id, "type": SUBFLOW, "variables": variables, CHAIN_KEY: chain}
    child = Execution(id=start.execution_id, namespace=flow.namespace, flow_id=flow.id,
                      flow_revision=flow.revision or 1, inputs=inputs, labels={**flow.labels, **start.labels},
                      variables=dict(flow.variables), trigger=trigger, parent_id=parent.id)
    child.labels.setdefault("system.correlationId", parent.labels.get("system.correlationId", parent.id))
    child.original_id = child.id
    return flow, child


# -- concurrency limit ----------------------------------------------------------------------------


# Not started (again) yet: these wait for a slot of the flow's concurrency limit, and do not hold one.
WAITING_FOR_A_SLOT = NOT_STARTED | {StateType.RESTARTED}


def waits_for_a_slot(exe: Execution) -> bool:
    """An execution that has not started (again) yet: new, restarted, or queued by its flow's limit."""
    return exe.state.current in WAITING_FOR_A_SLOT


def counts_against_limit(state: StateType) -> bool:
    """Started and not ended: what a flow's `concurrency.limit` counts."""
    return state not in WAITING_FOR_A_SLOT and not state.terminated


def admit(executor: Executor, running: int, older_waiting: bool = False) -> Effects | None:
    """Start an execution that waits for a slot, or apply its flow's concurrency behavior.

    `running`: executions of the flow that count against the limit (not this one); `older_waiting`:
    an execution queued before this one still waits (the oldest goes first). Returns the effects of
    starting it, or of refusing it (QUEUED, CANCELLED or FAILED, as `behavior` says), or None when a
    queued execution keeps waiting.
    """
    exe, limit = executor.exe, executor.flow.concurrency
    again = exe.state.current is StateType.RESTARTED
    if limit is None or not waits_for_a_slot(exe):
        return restart.admitted(executor) if again else executor.start()
    behind = older_waiting and (exe.state.current is StateType.QUEUED or limit.behavior == "QUEUE")
    if running < limit.limit and not behind:
        return restart.admitted(executor) if again else executor.start()
    if exe.state.current is not StateType.QUEUED:
        return restart.refused(executor) if again else executor.over_limit()
    return None


def free_slots(flow: Flow, running: int) -> int:
    """How many queued executions of a limited flow may start now."""
    return max(flow.concurrency.limit - running, 0) if flow.concurrency is not None else 0


# -- secrets in logs ------------------------------------------------------------------------------

def store_files(fx: Effects, write: Callable[[str, bytes], None] | None) -> None:
    """Write the files the decisions in `fx` made (`Effects.files`, named by the executor) and
    forget them, so each is written once: before an instant task that may read one runs, and
    before the decision naming them is stored."""
    if write is None:
        return
    while fx.files:
        uri, data = fx.files.pop(0)
        write(uri, data)


from lanner.model.inputs import MASK  # noqa: E402,F401 - one spelling of the mask, re-exported


def mask(entry: LogEntry, values: tuple[str, ...]) -> LogEntry:
    """Replace SECRET input values in a log line (longest first, so no part of one is left).

    Most executions have none: their lines skip the import statement too, a measurable share of
    the embedded loop's time at thousands of executions a minute."""
    if not values:
        return entry
    from lanner.model.inputs import mask as mask_value

    entry.message = mask_value(entry.message, values)
    return entry


class Secrets:
    """The SECRET input values of the executions a process is working on, to mask their logs."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, ...]] = {}

    def track(self, flow: Flow, exe: Execution) -> tuple[str, ...]:
        values = of(flow, exe)
        if values:
            self._values[exe.id] = values
        return values

    def forget(self, execution_id: str) -> None:
        self._values.pop(execution_id, None)

    def keep_only(self, execution_ids: set[str]) -> None:
        for eid in [e for e in self._values if e not in execution_ids]:
            del self._values[eid]

    def mask(self, entry: LogEntry) -> LogEntry:
        return mask(entry, self._values.get(entry.execution_id, ()))


def of(flow: Flow, exe: Execution) -> tuple[str, ...]:
    """An execution's SECRET input values, longest first."""
    return tuple(sorted(secret_values(flow, exe), key=len, reverse=True))


# -- timers ---------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True, frozen=True)
class Timer:
    """Something due later in one execution: a retry ("retry"), a pause's end ("resume", with the
    state the paused run takes) or a MAX_DURATION SLA ("sla": `run_id` holds the SLA's id)."""

    kind: str
    run_id: str
    due: dt.datetime
    state: StateType | None = None


def timers(fx: Effects) -> list[Timer]:
    """The timers a decision arms, in the order it armed them."""
    out = [Timer("retry", run_id, due) for run_id, due in fx.retries]
    out += [Timer("resume", run_id, due, state) for run_id, due, state in fx.resumes]
    out += [Timer("sla", sla_id, due) for sla_id, due in fx.slas]
    return out


def fire(executor: Executor, timer: Timer | tuple[str, str, Any]) -> Effects:
    """What a due timer does to its execution."""
    kind, run_id, state = (timer.kind, timer.run_id, timer.state) if isinstance(timer, Timer) else timer
    if kind == "retry":
        return executor.on_retry_due(run_id)
    if kind == "sla":
        return executor.on_sla_due(run_id)
    assert state is not None, "a resume timer always carries the state the paused run ends in"
    return executor.resume(run_id, state)
