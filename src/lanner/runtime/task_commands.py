"""What tasks acting on other executions ask of the runtime (handed to workers as `executions`):
`…execution.Resume` resumes a PAUSED execution through the same command channel `lanner
execution resume` and the API use; the purge tasks delete ended executions and logs
(`purges.py`).

A task never drives another execution itself: embedded, the resume is a stored command the
execution's owner takes (this process or another; a live owner is never bypassed, see
docs/semantics.md); in a cluster it is a `resume` event for whichever executor claims it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lanner.errors import LannerError
from lanner.model.execution import Execution
from lanner.model.flow import Flow
from lanner.model.resume_inputs import typed_resume_inputs
from lanner.model.state import StateType

if TYPE_CHECKING:  # made on a purge task's first use: SQLAlchemy is not imported by every run
    from lanner.runtime.purges import Purges


class ExecutionCommands:
    def __init__(self, get: Callable[[str], Execution | None],
                 send_resume: Callable[[str, dict[str, dict[str, Any]]], None],
                 purges: Callable[[], Purges], left_behind: Callable[[str], bool] = lambda _id: False,
                 flow_of: Callable[[Execution], Flow | None] = lambda _exe: None) -> None:
        self._get = get
        self._flow_of = flow_of
        self._send_resume = send_resume
        self._left_behind = left_behind
        self._purges = purges  # made on first use: most runs never purge

    def purge_executions(self, *args: Any) -> dict[str, int]:
        return self._purges().purge_executions(*args)

    def purge_logs(self, *args: Any) -> dict[str, Any]:
        return self._purges().purge_logs(*args)

    def resume(self, execution_id: str, namespace: str | None, flow_id: str | None,
               inputs: dict[str, Any] | None = None) -> dict[str, Any]:
        """Ask for `execution_id` to be resumed with `inputs` (typed against the paused tasks'
        `onResume` first: invalid ones raise and nothing is sent); what was resumed (id, namespace, flowId)."""
        exe = self._get(execution_id)
        if exe is None:
            raise LannerError(f"No execution found for execution id {execution_id}",
                              hint="check `executionId`; `lanner executions --state PAUSED` lists paused ones")
        for what, wanted, actual in (("namespace", namespace, exe.namespace), ("flowId", flow_id, exe.flow_id)):
            if wanted is not None and wanted != actual:
                raise LannerError(f"execution {execution_id} belongs to {exe.namespace}.{exe.flow_id}, "
                                  f"not to the {what} `{wanted}` this task names",
                                  hint=f"fix `{what}` or `executionId`")
        if exe.state.current is not StateType.PAUSED:
            raise LannerError(f"execution {execution_id} is {exe.state.current.value}; only a PAUSED execution "
                              "can be resumed")
        if self._left_behind(execution_id):
            raise LannerError(f"execution {execution_id} was left behind by a process that ended, so no one "
                              "would take the resume",
                              hint=f"continue it with `lanner execution continue {execution_id}`")
        typed = typed_resume_inputs(self._flow_of(exe), exe, inputs or {}, via="task")
        self._send_resume(execution_id, typed)
        return {"id": exe.id, "namespace": exe.namespace, "flowId": exe.flow_id}
