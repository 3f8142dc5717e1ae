"""What the flow-level declarations decide around the end of an execution: SLAs and listeners.

- `sla` (`model/sla.py`): a MAX_DURATION SLA arms a timer at the start (`_arm_sla_timers`, armed
  again when an embedded runtime takes the execution over, since its timers died with the old
  process; a cluster keeps them as queued events); when it fires on a still running execution,
  `Executor.on_sla_due` applies the violation. EXECUTION_ASSERTION SLAs are checked once, as the
  flow's scope ends and before its final state is written (`_assertions`), so FAIL or CANCEL
  decide that state. A violation adds the SLA's labels and logs Kestra's
  `SLA '<id>' violated: <reason>` as a WARN.
- `listeners` (`model/listener.py`): when the flow has ended, the tasks of every listener whose
  conditions all hold on the final state run before `afterExecution` (Kestra's order), as
  cleanup: they never change the execution's state.
"""

from __future__ import annotations

import datetime as dt

from lanner.engine.execution_tasks import ExecutionTaskEffects
from lanner.engine.scope import Scope
from lanner.errors import LannerError
from lanner.model import variables
from lanner.model.duration import format_duration
from lanner.model.listener import holds
from lanner.model.sla import Sla
from lanner.model.state import StateType
from lanner.plugins.api import Task

_BEHAVIOR_STATE = {"FAIL": StateType.FAILED, "CANCEL": StateType.CANCELLED}


class FlowEnd(ExecutionTaskEffects):
    def _truthy(self, template: str) -> bool:
        """A flow-level expression (an SLA's `assert`, an Expression condition) on the execution as it is."""
        from lanner import expr

        ctx_vars = variables.build(self.flow, self.exe, envs=self.surroundings.envs)
        return expr.is_truthy(expr.render(template, ctx_vars, self._services))

    # -- SLAs ----------------------------------------------------------------------------------

    def _sla_start(self) -> dt.datetime | None:
        """When the durations count from: the creation, or the latest restart (**Lanner**: a
        restarted execution gets its full duration again instead of being violated at once)."""
        restarts = [h.date for h in self.exe.state.histories if h.state is StateType.RESTARTED]
        return restarts[-1] if restarts else self.exe.state.start_date

    def _arm_sla_timers(self) -> None:
        start = self._sla_start()
        if start is None or self.exe.state.current.terminated:
            return
        for sla in self.flow.sla:
            if sla.type == "MAX_DURATION":
                self._fx.slas.append((sla.id, start + sla.max_duration))

    def _sla_violated(self, sla: Sla, reason: str) -> StateType | None:
        """Log and label a violation; the state its behavior ends the execution in (None: NONE)."""
        self._log(None, None, "WARN", f"SLA '{sla.id}' violated: {reason}")
        if sla.labels:
            self.exe.labels.update(sla.labels)
            self._fx.execution_changed = True
        return _BEHAVIOR_STATE.get(sla.behavior)

    def _max_duration_reason(self, sla: Sla) -> str:
        start = self._sla_start() or self._now()
        elapsed = self._now() - start
        return f"execution duration of {format_duration(elapsed)} exceeds the maximum duration of {sla.duration}"

    def _assertions(self, state: StateType) -> StateType:
        """The final state once every EXECUTION_ASSERTION SLA was checked (the last violated one
        with FAIL or CANCEL decides). One that cannot be evaluated is skipped, saying why (Kestra)."""
        for sla in self.flow.sla:
            if sla.type != "EXECUTION_ASSERTION":
                continue
            assert sla.assert_ is not None
            try:
                ok = self._truthy(sla.assert_)
            except LannerError as exc:
                self._log(None, None, "ERROR", f"Ignoring SLA '{sla.id}' because of the error: {exc.render()}")
                continue
            if not ok:
                violated = self._sla_violated(sla, f"assertion is false: {sla.assert_}")
                state = violated or state
        return state

    # -- listeners -----------------------------------------------------------------------------

    def _add_listeners(self, scope: Scope) -> None:
        """Put the matched listeners' tasks before the flow's `afterExecution` ones (once per scope)."""
        if scope.listener_count:
            return
        listeners = self._listener_tasks()
        scope.after = listeners + scope.after
        scope.listener_count = len(listeners)

    def _listener_tasks(self) -> list[Task]:
        """The tasks of the listeners whose conditions hold on the ended execution, in order."""
        out: list[Task] = []
        for i, listener in enumerate(self.flow.listeners):
            try:
                runs = all(holds(c.as_dict(), self.exe.state.current.value, self.exe.namespace, self.exe.flow_id,
                                 self.exe.labels, self._truthy) for c in listener.conditions)
            except LannerError as exc:
                self._log(None, None, "ERROR", f"listeners[{i}]: a condition could not be evaluated, so its "
                                               f"tasks do not run: {exc.render()}")
                continue
            if runs:
                out.extend(t for t in listener.tasks if not t.disabled)
        return out
