"""The values a resume carries, typed against the `onResume` inputs of the paused tasks.

A resume with inputs is checked here, by whoever asks for it (the API, `lanner execution resume`,
the `…execution.Resume` task), before anything is sent to the process that drives the execution:
a missing, unknown or badly typed value refuses the resume and the execution stays PAUSED. The
executor then only stores what was checked (`outputs.<pause>.onResume`), so a decision never
depends on validating user input, and a resume is never half applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lanner.errors import LannerError, ValidationError, ValidationErrors
from lanner.model.execution import Execution
from lanner.model.flow import Flow, Input
from lanner.model.inputs import Via, resolve_declared
from lanner.model.state import StateType


def declared_resume_inputs(flow: Flow | None, exe: Execution, approvals: bool = False) -> dict[str, list[Input]]:
    """Each PAUSED task run's `onResume` inputs, by task run id (an empty list when it declares none).

    A paused Approval waits for a decision, not a resume (`approval_decisions.py`): it is listed
    only with `approvals=True`, and then alone, its `inputs` being the reviewer's fields."""
    out: dict[str, list[Input]] = {}
    for run in exe.task_runs:
        if run.current is not StateType.PAUSED:
            continue
        task = flow.index().get(run.task_id) if flow is not None else None
        if is_approval(task.task if task is not None else None) is not approvals:
            continue
        out[run.id] = list(getattr(task.task, "onResume", None) or []) if task is not None else []
    return out


def is_approval(task: object) -> bool:
    """An Approval task (known by its declared effect, as the engine knows it)."""
    return getattr(task, "effect", None) == "approval"


def typed_resume_inputs(flow: Flow | None, exe: Execution, given: Mapping[str, Any],
                        via: Via = "cli") -> dict[str, dict[str, Any]]:
    """The typed values for each paused task run, defaults filled in; `ValidationErrors` otherwise.

    Every paused run is resumed at once (a Parallel may hold several), so each one's inputs are
    typed from the values named after them; a name no paused task declares is refused. `flow` is
    None when the execution's flow revision is gone: then only a resume without values passes.
    """
    declared = declared_resume_inputs(flow, exe)
    if not declared and declared_resume_inputs(flow, exe, approvals=True):
        raise LannerError(f"execution {exe.id} waits for an Approval's decision, which a resume does not give",
                          hint=f"approve or deny it: `lanner execution approve {exe.id}` (or `deny`), "
                               "or POST /api/v1/executions/{id}/actions/approve (or …/actions/deny)")
    known = {inp.id for inputs in declared.values() for inp in inputs}
    errors: list[LannerError] = []
    owners = ", ".join(sorted({r.task_id for r in exe.task_runs if r.id in declared})) or "none"
    for name in given:
        if name not in known:
            hint = (f"the paused tasks ({owners}) declare in `onResume`: " + ", ".join(sorted(known)) if known
                    else f"the paused tasks ({owners}) declare no `onResume` inputs; resume without values")
            errors.append(ValidationError(f"unknown resume input `{name}`", hint=hint))
    out: dict[str, dict[str, Any]] = {}
    for run_id, inputs in declared.items():
        mine = {k: v for k, v in given.items() if any(i.id == k for i in inputs)}
        task_id = next(r.task_id for r in exe.task_runs if r.id == run_id)
        try:
            out[run_id] = resolve_declared(inputs, mine, f"the paused task `{task_id}`", via)
        except ValidationErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationErrors(errors)
    return out


def as_flow_inputs(flow: Flow | None, exe: Execution, approvals: bool = False) -> Flow:
    """The flow as a reader of flow inputs (the API's form, the CLI's file uploads) sees it: the
    paused tasks' `onResume` (or, with `approvals`, the waiting Approvals' `inputs`) in place of the
    flow's inputs, so a file is taken only for one of their FILE inputs, and stored with the execution."""
    declared = [i for inputs in declared_resume_inputs(flow, exe, approvals).values() for i in inputs]
    if flow is None:  # the revision is gone: no values can be typed, the form must be empty
        return Flow.model_construct(id=exe.flow_id, namespace=exe.namespace, inputs=declared)
    return flow.model_copy(update={"inputs": declared})
