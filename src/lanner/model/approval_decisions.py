"""A reviewer's decision on a waiting Approval, checked before it is sent (as a resume's values are).

`lanner execution approve|deny`, the API and the UI all build the decision here: which waiting
Approval it is for, that a required comment is there (`commentRequired`), and the reviewer's values
typed against the Approval's `inputs`. What leaves is the record the executor stores as the run's
outputs (`engine/approvals.py`), keyed by task run id as a resume's values are, so it travels the
same command channel (embedded) or event (cluster) and is never half applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from lanner.errors import LannerError
from lanner.model.execution import Execution
from lanner.model.flow import Flow
from lanner.model.inputs import Via, resolve_declared
from lanner.model.resume_inputs import declared_resume_inputs

Decision = Literal["APPROVED", "DENIED"]
# Which decisions need a comment under each `commentRequired`.
COMMENT_NEEDED: dict[str, tuple[str, ...]] = {"NEVER": (), "ALWAYS": ("APPROVED", "DENIED"),
                                              "ON_APPROVE": ("APPROVED",), "ON_DENY": ("DENIED",)}


def waiting_approvals(flow: Flow | None, exe: Execution) -> dict[str, str]:
    """The Approval runs waiting for a decision: task run id → task id."""
    ids = declared_resume_inputs(flow, exe, approvals=True)
    return {r.id: r.task_id for r in exe.task_runs if r.id in ids}


def typed_decision(flow: Flow | None, exe: Execution, decision: Decision, comment: str | None,
                   given: Mapping[str, Any], run_id: str | None = None,
                   via: Via = "cli") -> tuple[str, dict[str, dict[str, Any]]]:
    """The decided run's id and its record (`{run_id: {decision, comment, inputs}}`); raises
    `LannerError` (or `ValidationErrors`, every bad value at once) when the decision cannot be taken."""
    waiting = waiting_approvals(flow, exe)
    verb = "approve" if decision == "APPROVED" else "deny"
    if run_id is None:
        if not waiting:
            raise LannerError(f"execution {exe.id} has no Approval waiting for a decision",
                              hint="only a PAUSED execution whose Approval task waits can be approved or denied")
        if len(waiting) > 1:
            listed = ", ".join(f"{tid} ({rid})" for rid, tid in waiting.items())
            raise LannerError(f"several Approvals wait for a decision: {listed}",
                              hint=f"name one by its task run id (`lanner execution {verb} {exe.id} --task-run ID`, "
                                   "or `taskRunId` in the API body)")
        run_id = next(iter(waiting))
    elif run_id not in waiting:
        raise LannerError(f"task run {run_id} of execution {exe.id} is not paused waiting for a decision",
                          hint="waiting Approvals: " + (", ".join(f"{t} ({r})" for r, t in waiting.items()) or "none"))
    assert flow is not None  # an Approval was found in it
    task = flow.index()[waiting[run_id]].task
    required = str(getattr(task, "commentRequired", "NEVER"))
    if decision in COMMENT_NEEDED.get(required, ()) and not (comment or "").strip():
        raise LannerError(f"the Approval `{task.id}` requires a comment to {verb} it (commentRequired: {required})",
                          hint="give one with --comment TEXT (API: `comment`)")
    values = resolve_declared(list(getattr(task, "inputs", None) or []), given, f"the Approval `{task.id}`", via)
    return run_id, {run_id: {"decision": decision, "comment": comment or None, "inputs": values}}
