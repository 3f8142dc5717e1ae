"""The scheduler: fires `Schedule`, `Flow` and `Webhook` triggers of the stored flows.

One thread ticks every second for schedules and takes execution state changes from a queue
(fed by the runtime's listener) for Flow triggers and `stopAfter`. Every decision is persisted
in the `triggers` table, and every execution a trigger starts gets an id derived from the fire
(flow, trigger, scheduled date or upstream execution), so a restart in the middle of a fire
finds what it already created: a schedule never fires twice for the same date.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from lanner.model.execution import Execution
from lanner.model.flow import Flow
from lanner.model.state import iso, now, parse_iso
from lanner.runtime import flow_trigger, launch, multiple_conditions, schedule, triggers
from lanner.runtime.flow_trigger import Ended
from lanner.storage.trigger_store import TriggerKey, TriggerStore

log = logging.getLogger("lanner.scheduler")

# The last argument is the execution id to use, or None for a new one.
Starter = Callable[[Flow, Mapping[str, Any], Mapping[str, str], dict[str, Any], str | None], Execution]
REFRESH_SECONDS = 30.0


class WebhookNotFound(LookupError):
    """No enabled Webhook trigger with this key on this flow."""


class Scheduler:
    def __init__(self, store: TriggerStore, flows: Callable[[], list[Flow]],
                 flow_lookup: Callable[[str, str], Flow | None], start: Starter,
                 exists: Callable[[str], bool], get_execution: Callable[[str], Execution | None],
                 tick_seconds: float = 1.0, clock: Callable[[], dt.datetime] = now) -> None:
        self.store = store
        self._flows_source = flows
        self._lookup = flow_lookup
        self._start = start
        self._exists = exists
        self._get_execution = get_execution
        self._tick_seconds = tick_seconds
        self._clock = clock
        self._events: queue.Queue[Any] = queue.Queue()
        self._lock = threading.RLock()
        self._state: dict[TriggerKey, dict[str, Any]] = {}
        self._flows: list[Flow] = []
        self._dirty = True
        self._last_refresh = 0.0
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._state = self.store.all()
        self._thread = threading.Thread(target=self._run, name="lanner-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._events.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def flows_changed(self) -> None:
        """A flow was saved or deleted: reload the trigger index at the next tick."""
        self._dirty = True
        self._events.put("refresh")

    def execution_changed(self, ended: Ended) -> None:
        """An execution changed state (called by the runtime listener: cheap, never blocks)."""
        self._events.put(ended)

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        next_tick = 0.0
        while not self._stopping.is_set():
            timeout = max(next_tick - time.monotonic(), 0.0)
            try:
                item = self._events.get(timeout=timeout)
            except queue.Empty:
                item = "tick"
            if item is None:
                break
            try:
                if isinstance(item, Ended):
                    self._on_execution(item)
                if self._dirty or time.monotonic() - self._last_refresh > REFRESH_SECONDS:
                    self._refresh()
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self._tick_seconds
                    self._tick(self._clock())
            except Exception:
                log.exception("scheduler step failed")

    def _refresh(self) -> None:
        self._dirty = False
        self._last_refresh = time.monotonic()
        self._flows = [f for f in self._flows_source() if f.triggers and not f.disabled]

    def _put(self, key: TriggerKey, state: dict[str, Any]) -> None:
        with self._lock:
            self._state[key] = state
        self.store.put(key, state)

    # -- Schedule ----------------------------------------------------------------------------

    def _tick(self, at: dt.datetime) -> None:
        for flow in self._flows:
            for spec in triggers.specs(flow):
                if isinstance(spec, triggers.ScheduleSpec):
                    self._schedule(flow, spec, at)

    def _schedule(self, flow: Flow, spec: triggers.ScheduleSpec, at: dt.datetime) -> None:
        key = (flow.namespace, flow.id, spec.id)
        with self._lock:
            state = dict(self._state.get(key) or {})
        signature = f"{spec.cron}|{spec.timezone}|{spec.withSeconds}"
        if state.get("signature") != signature or not state.get("nextDate"):
            # a new schedule (or a changed cron) starts from now: no backfill of the past
            state.update(signature=signature, nextDate=iso(schedule.next_after(spec, at)))
            self._put(key, state)
            return
        if state.get("disabled"):
            return
        next_date = parse_iso(state["nextDate"])
        if next_date > at:
            return
        plan = schedule.due(spec, next_date, at)
        if plan.skipped:
            log.warning("trigger %s.%s/%s: %d missed schedule(s) not recovered (recoverMissedSchedules=%s)",
                        flow.namespace, flow.id, spec.id, plan.skipped, spec.recoverMissedSchedules)
        for date in plan.fire:
            variables = schedule.variables(spec, date)
            eid = launch.trigger_execution_id(flow.namespace, flow.id, spec.id, variables["date"])
            exe_id = self._fire(flow, spec, variables, eid, {})
            if exe_id:
                state.update(date=variables["date"], executionId=exe_id)
        state["nextDate"] = iso(plan.next_date)
        self._put(key, state)

    # -- firing ------------------------------------------------------------------------------

    def _fire(self, flow: Flow, spec: Any, variables: dict[str, Any], execution_id: str,
              extra: Mapping[str, Any]) -> str | None:
        """Start one execution for a trigger; returns its id, or None when it could not start."""
        if self._exists(execution_id):
            return execution_id  # fired before a restart: do not fire twice
        key = (flow.namespace, flow.id, spec.id)
        try:
            inputs = launch.render_trigger_values(spec.inputs, variables, extra)
            labels = launch.labels_of(spec.labels, variables)
            trigger = {"id": spec.id, "type": triggers.canonical_type(spec.type), "variables": variables}
            exe = self._start(flow, inputs, labels, trigger, execution_id)
        except Exception as exc:  # noqa: BLE001 - recorded on the trigger for people to read
            from lanner.errors import LannerError

            message = exc.render() if isinstance(exc, LannerError) else str(exc)
            log.error("trigger %s.%s/%s could not start an execution: %s", *key, message)
            with self._lock:
                state = dict(self._state.get(key) or {})
            state["lastError"] = message
            self._put(key, state)
            return None
        return exe.id

    # -- Flow triggers and stopAfter ---------------------------------------------------------

    def _on_execution(self, e: Ended) -> None:
        if e.trigger and e.state in triggers.TERMINAL:
            self._stop_after(e)
        for flow in self._flows:
            for spec in triggers.specs(flow):
                if isinstance(spec, triggers.FlowSpec) and flow_trigger.matches(spec, flow.namespace, flow.id, e):
                    self._flow_fire(flow, spec, e)

    def _stop_after(self, e: Ended) -> None:
        trig = e.trigger or {}
        flow = self._lookup(e.namespace, e.flow_id)
        if flow is None:
            return
        for spec in triggers.specs(flow):
            if spec.id == trig.get("id") and e.state in spec.stopAfter:
                key = (flow.namespace, flow.id, spec.id)
                with self._lock:
                    state = dict(self._state.get(key) or {})
                state["disabled"] = True
                state["stoppedBy"] = {"executionId": e.id, "state": e.state}
                self._put(key, state)
                log.warning("trigger %s.%s/%s disabled: execution %s ended %s (stopAfter)", *key, e.id, e.state)

    def _flow_fire(self, flow: Flow, spec: triggers.FlowSpec, e: Ended) -> None:
        key = (flow.namespace, flow.id, spec.id)
        with self._lock:
            state = dict(self._state.get(key) or {})
        if state.get("disabled"):
            return
        if spec.preconditions is not None:
            fire, progress = flow_trigger.advance_preconditions(spec, state.get("preconditions") or {}, e)
            state["preconditions"] = progress
            self._put(key, state)
            if not fire:
                return
        if any(multiple_conditions.is_multiple(c) for c in spec.conditions):
            fire, marks = flow_trigger.advance_multiple(spec, state.get("multipleConditions") or {}, e,
                                                        self._clock())
            state["multipleConditions"] = marks
            self._put(key, state)
            if not fire:
                return
        extra: dict[str, Any] = {}
        if "outputs" in str(spec.inputs):
            upstream = self._get_execution(e.id)
            if upstream is not None:
                from lanner.model.variables import OutputsView

                extra["outputs"] = OutputsView(upstream)
        eid = launch.trigger_execution_id(flow.namespace, flow.id, spec.id, e.id, e.state)
        exe_id = self._fire(flow, spec, e.variables(), eid, extra)
        if exe_id:
            state.update(date=iso(self._clock()), executionId=exe_id)
            self._put(key, state)

    # -- Webhook (called from the API's threads) ---------------------------------------------

    def webhook(self, namespace: str, flow_id: str, key: str, body: Any, headers: dict[str, list[str]],
                parameters: dict[str, list[str]]) -> tuple[Execution, triggers.WebhookSpec]:
        """Start the flow for its Webhook trigger with this key; raises WebhookNotFound otherwise."""
        import hmac

        flow = self._lookup(namespace, flow_id)
        if flow is None:
            raise WebhookNotFound(f"flow `{namespace}.{flow_id}` was not found")
        for spec in triggers.specs(flow):
            if isinstance(spec, triggers.WebhookSpec) and hmac.compare_digest(spec.key.encode(), key.encode()):
                tkey = (flow.namespace, flow.id, spec.id)
                with self._lock:
                    state = dict(self._state.get(tkey) or {})
                if state.get("disabled"):
                    break
                variables = {"body": body, "headers": headers, "parameters": parameters}
                inputs = launch.render_trigger_values(spec.inputs, variables)
                labels = launch.labels_of(spec.labels, variables)
                trigger = {"id": spec.id, "type": triggers.WEBHOOK, "variables": variables}
                exe = self._start(flow, inputs, labels, trigger, None)
                state.update(date=iso(self._clock()), executionId=exe.id)
                self._put(tkey, state)
                return exe, spec
        raise WebhookNotFound(f"no enabled Webhook trigger with this key on flow `{namespace}.{flow_id}`")

    # -- what the API shows and changes ------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        """Every trigger of the stored flows with the scheduler's state (Kestra's Trigger shape)."""
        out: list[dict[str, Any]] = []
        with self._lock:
            states = dict(self._state)
        for flow in self._flows_source():
            for trig in flow.triggers:
                state = states.get((flow.namespace, flow.id, trig.id)) or {}
                out.append({"namespace": flow.namespace, "flowId": flow.id, "triggerId": trig.id,
                            "type": trig.type,
                            "disabled": bool(trig.disabled or flow.disabled or state.get("disabled")),
                            "date": state.get("date"), "nextExecutionDate": state.get("nextDate"),
                            "executionId": state.get("executionId"), "lastError": state.get("lastError"),
                            "stoppedBy": state.get("stoppedBy")})
        return out

    def set_disabled(self, key: TriggerKey, disabled: bool) -> dict[str, Any]:
        """Disable a trigger, or enable one again (after `stopAfter`); a schedule restarts from now."""
        with self._lock:
            state = toggled(self._state.get(key) or {}, disabled)
        self._put(key, state)
        return state


def toggled(state: dict[str, Any], disabled: bool) -> dict[str, Any]:
    """A trigger's stored state once disabled or enabled again: enabling forgets a `stopAfter`
    stop and the next date, so a schedule restarts from now instead of catching up."""
    out = {**state, "disabled": disabled}
    if not disabled:
        out.pop("stoppedBy", None)
        out.pop("nextDate", None)
    return out
