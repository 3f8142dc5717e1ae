"""The scheduler: fires `Schedule`, `Flow` and `Webhook` triggers of the stored flows.

One thread ticks every second for schedules and takes execution state changes from a queue
(fed by the runtime's listener) for Flow triggers and `stopAfter`. Every decision is persisted
in the `triggers` table, and every execution a trigger starts gets an id derived from the fire
(flow, trigger, scheduled date or upstream execution), so a restart in the middle of a fire
finds what it already created: a schedule never fires twice for the same date.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from lanner.model.execution import Execution
from lanner.model.flow import Flow
from lanner.model.state import iso, now, parse_iso
from lanner.runtime import backfills, flow_trigger, launch, multiple_conditions, schedule, triggers
from lanner.runtime.flow_trigger import Ended
from lanner.storage.trigger_store import TriggerKey, TriggerStore

log = logging.getLogger("lanner.scheduler")

# The last argument is the execution id to use, or None for a new one.
Starter = Callable[[Flow, Mapping[str, Any], Mapping[str, str], dict[str, Any], str | None], Execution]
REFRESH_SECONDS = 30.0
BACKFILL_PER_TICK = 1  # executions a backfill starts per tick: paced, oldest date first


class WebhookNotFound(LookupError):
    """No enabled Webhook trigger with this key on this flow."""


class WebhookConditionsUnmet(Exception):  # noqa: N818 - an outcome, not a fault: Kestra answers it 204
    """The Webhook trigger's conditions do not hold for this call: no execution is started."""


def conditions_hold(spec: Any, variables: dict[str, Any]) -> tuple[bool, str | None]:
    """(do the trigger's conditions all hold?, why they could not be evaluated); a condition that
    cannot be evaluated does not hold, so nothing starts by surprise."""
    from lanner.runtime.trigger_conditions import ConditionError, all_hold

    try:
        return all_hold(spec.conditions, variables), None
    except ConditionError as exc:
        return False, f"conditions not evaluated: {exc}"


class TriggerNotFound(LookupError):
    """No trigger with this key on the stored flows."""


class NoBackfill(LookupError):
    """The trigger has no backfill to pause, unpause or delete (Kestra's "No backfill found")."""


class Scheduler:
    def __init__(self, store: TriggerStore, flows: Callable[[], list[Flow]],
                 flow_lookup: Callable[[str, str], Flow | None], start: Starter,
                 exists: Callable[[str], bool], get_execution: Callable[[str], Execution | None],
                 tick_seconds: float = 1.0, clock: Callable[[], dt.datetime] = now,
                 unfinished: Callable[[str, str], int] | None = None) -> None:
        """`unfinished(namespace, flow_id)` counts the flow's executions that have not ended: a
        backfill waits while they fill the flow's concurrency limit."""
        self.store = store
        self._flows_source = flows
        self._lookup = flow_lookup
        self._start = start
        self._exists = exists
        self._get_execution = get_execution
        self._tick_seconds = tick_seconds
        self._clock = clock
        self._unfinished = unfinished
        self._events: queue.Queue[Any] = queue.Queue()
        self._lock = threading.RLock()
        self._state: dict[TriggerKey, dict[str, Any]] = {}
        self._flows: list[Flow] = []
        self._dirty = True
        self._watching = True  # until the first refresh says: does any flow have a Flow trigger?
        self._last_refresh = 0.0
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._faults: dict[TriggerKey, str] = {}  # the error each failing trigger last logged

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
        self._watching = True
        self._events.put("refresh")

    def execution_changed(self, ended: Ended) -> None:
        """An execution changed state (called by the runtime listener: cheap, never blocks).

        Queued only when the loop would act on it: a Flow trigger is loaded (or the flows are
        about to be reloaded), or it is a triggered execution's end (`stopAfter`). Each queued
        change wakes the scheduler's thread, and with thousands of executions a minute on two
        busy cores those wake-ups cost more than the executions' own work."""
        if self._watching or (ended.trigger and ended.state in triggers.TERMINAL):
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
        # a save meanwhile (`_dirty` again) keeps every change queued until the refresh it asked for
        self._watching = self._dirty or any(isinstance(spec, triggers.FlowSpec)
                                            for flow in self._flows for spec in triggers.specs(flow))

    def _put(self, key: TriggerKey, state: dict[str, Any]) -> None:
        with self._lock:
            self._state[key] = state
        self.store.put(key, state)

    def _current(self, key: TriggerKey) -> dict[str, Any]:
        """The trigger's state as it stands (a cluster scheduler reads it back from the store)."""
        return dict(self._state.get(key) or {})

    def _update(self, key: TriggerKey, change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        """Read, change and write one trigger's state at once, so the tick and the API (disable,
        backfill) never write over each other's fields."""
        with self._lock:
            state = self._current(key)
            change(state)
            self._put(key, state)
        return state

    # -- Schedule ----------------------------------------------------------------------------

    def _tick(self, at: dt.datetime) -> None:
        for flow in self._flows:
            for spec in triggers.specs(flow):
                if isinstance(spec, triggers.ScheduleSpec):
                    self._isolated((flow.namespace, flow.id, spec.id), self._schedule_and_backfill, flow, spec, at)

    def _schedule_and_backfill(self, flow: Flow, spec: triggers.ScheduleSpec, at: dt.datetime) -> None:
        self._schedule(flow, spec, at)
        self._backfill(flow, spec, at)

    def _isolated(self, key: TriggerKey, step: Callable[..., None], *args: Any) -> None:
        """Run one trigger's step so that its unexpected error (a stored state that no longer parses, a
        bug) stays on that trigger: the triggers after it in the tick still fire on time. The error
        is written to the trigger's `lastError` and logged once while it repeats unchanged, not at
        every tick; a step that works again forgets it, so its next error is logged again."""
        try:
            step(*args)
        except Exception as exc:  # noqa: BLE001 - one bad trigger must not stop the others
            message = (f"the trigger could not be evaluated ({type(exc).__name__}: {exc}); the other triggers "
                       "go on; disabling and enabling it again resets its stored schedule")
            if self._faults.get(key) == message:
                return
            log.exception("trigger %s.%s/%s: %s", *key, message)
            try:
                self._update(key, functools.partial(_merge, {"lastError": message}))
            except Exception:  # noqa: BLE001 - the store is away: noted at the next tick instead
                log.warning("trigger %s.%s/%s: its error could not be recorded", *key, exc_info=True)
                return
            self._faults[key] = message
        else:
            self._faults.pop(key, None)

    def _schedule(self, flow: Flow, spec: triggers.ScheduleSpec, at: dt.datetime) -> None:
        key = (flow.namespace, flow.id, spec.id)
        with self._lock:
            state = dict(self._state.get(key) or {})
        signature = f"{spec.cron}|{spec.timezone}|{spec.withSeconds}"
        if state.get("signature") != signature or not state.get("nextDate"):
            # a new schedule (or a changed cron) starts from now; the past runs through a backfill
            changes: dict[str, Any] = {"signature": signature, "nextDate": iso(schedule.next_after(spec, at))}
            if not state.get("signature") and spec.backfill is not None:
                changes.update(self._backfill_of_flow(flow, spec, at))
            self._update(key, lambda s: s.update(changes))
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
        fired: dict[str, Any] = {}
        for date in plan.fire:
            variables = schedule.variables(spec, date)
            if spec.conditions:
                hold, error = conditions_hold(spec, schedule.condition_variables(spec, date))
                if error:
                    log.error("trigger %s.%s/%s at %s: %s", *key, variables["date"], error)
                    fired["lastError"] = error
                if not hold:  # Kestra passes over a date its conditions reject
                    continue
            eid = launch.trigger_execution_id(flow.namespace, flow.id, spec.id, variables["date"])
            exe_id = self._fire(flow, spec, variables, eid, {})
            if exe_id:
                fired.update(date=variables["date"], executionId=exe_id)
        fired["nextDate"] = iso(plan.next_date)
        self._update(key, lambda s: s.update(fired))

    # -- backfill ----------------------------------------------------------------------------

    def _backfill(self, flow: Flow, spec: triggers.ScheduleSpec, at: dt.datetime) -> None:
        """Start the next executions of the trigger's backfill, if it has one that may go on."""
        with self._lock:  # the cached state says whether there is one (a cluster's cache is seconds old)
            if not (self._state.get((flow.namespace, flow.id, spec.id)) or {}).get("backfill"):
                return
        for _ in range(BACKFILL_PER_TICK):
            if not self._backfill_step(flow, spec, at):
                return

    def _backfill_step(self, flow: Flow, spec: triggers.ScheduleSpec, at: dt.datetime) -> bool:
        """One date of the backfill; False when it cannot go on this tick (or is done)."""
        key = (flow.namespace, flow.id, spec.id)
        state = self._current(key)
        bf = state.get("backfill")
        if not bf or bf.get("paused") or state.get("disabled"):
            return False
        if flow.concurrency is not None and self._unfinished is not None \
                and self._unfinished(flow.namespace, flow.id) >= flow.concurrency.limit:
            return False  # wait for a slot: a backfill never makes executions the limit would queue or refuse
        date = backfills.next_date(spec, bf).date
        if date is None:
            self._update(key, lambda s: _end_backfill(s, bf["id"], "done", at))
            log.warning("trigger %s.%s/%s: backfill %s done (%d executions)", *key, bf["id"], bf["fired"])
            return False
        variables = schedule.variables(spec, date)
        eid = launch.trigger_execution_id(flow.namespace, flow.id, spec.id, "backfill", bf["id"], variables["date"])
        if self._fire(flow, spec, variables, eid, {}, bf) is None:
            # the error is on the trigger (lastError); paused, so that it is not retried every tick
            self._update(key, lambda s: _pause_backfill(s, bf["id"]))
            return False
        self._update(key, lambda s: _advance_backfill(s, spec, bf["id"], date))
        return True

    def _backfill_of_flow(self, flow: Flow, spec: triggers.ScheduleSpec, at: dt.datetime) -> dict[str, Any]:
        """The backfill a Schedule's own `backfill: {start}` asks for, from that start up to now,
        made once, when the scheduler first sees the trigger (as Kestra's does); or its error."""
        key = (flow.namespace, flow.id, spec.id)
        try:
            bf = backfills.new(spec, {"start": (spec.backfill or {}).get("start")}, at)
        except backfills.BackfillError as exc:
            log.error("trigger %s.%s/%s: its `backfill` cannot run: %s", *key, exc.message)
            return {"lastError": f"`backfill` cannot run: {exc.message}; {exc.hint}"}
        log.warning("trigger %s.%s/%s: backfill %s of %d dates from %s (its `backfill` property)", *key,
                    bf["id"], bf["total"], bf["start"])
        return {"backfill": bf}

    def create_backfill(self, key: TriggerKey, body: Mapping[str, Any]) -> dict[str, Any]:
        """Start a backfill of a Schedule trigger (Kestra's `PUT /triggers` with `backfill`).

        Raises TriggerNotFound, `backfills.BackfillError` (a bad request: dates, inputs, not a
        Schedule, one already there) or `ValidationErrors` (inputs the flow refuses)."""
        flow, spec = self._schedule_spec(key)
        at = self._clock()
        bf = backfills.new(spec, body, at)
        first = backfills.next_date(spec, bf).date
        assert first is not None  # `new` refuses a range without dates
        self._check_inputs(flow, spec, bf, first)

        def put(state: dict[str, Any]) -> None:
            if state.get("backfill"):
                raise backfills.BackfillError(f"trigger `{key[2]}` already has a backfill running",
                                              "delete it first (POST /api/v1/triggers/backfill/delete)")
            state["backfill"] = bf

        state = self._update(key, put)
        log.warning("trigger %s.%s/%s: backfill %s of %d dates from %s to %s", *key, bf["id"], bf["total"],
                    bf["start"], bf["end"])
        return state

    def pause_backfill(self, key: TriggerKey, paused: bool) -> dict[str, Any]:
        """Pause or unpause the trigger's backfill; raises NoBackfill when it has none."""
        def change(state: dict[str, Any]) -> None:
            if not state.get("backfill"):
                raise NoBackfill(f"trigger `{key[2]}` of flow `{key[0]}.{key[1]}` has no backfill")
            state["backfill"] = {**state["backfill"], "paused": paused}
            if not paused:
                state.pop("lastError", None)

        return self._update(key, change)

    def delete_backfill(self, key: TriggerKey) -> dict[str, Any]:
        """Stop the trigger's backfill for good (its executions already started stay)."""
        def change(state: dict[str, Any]) -> None:
            bf = state.get("backfill")
            if not bf:
                raise NoBackfill(f"trigger `{key[2]}` of flow `{key[0]}.{key[1]}` has no backfill")
            _end_backfill(state, bf["id"], "deleted", self._clock())

        return self._update(key, change)

    def _schedule_spec(self, key: TriggerKey) -> tuple[Flow, triggers.ScheduleSpec]:
        flow = self._lookup(key[0], key[1])
        trig = next((t for t in flow.triggers if t.id == key[2]), None) if flow is not None else None
        if flow is None or trig is None:
            raise TriggerNotFound(f"trigger `{key[2]}` of flow `{key[0]}.{key[1]}`")
        from pydantic import ValidationError

        try:
            spec = triggers.parse(trig)
        except ValidationError:
            spec = None
        if not isinstance(spec, triggers.ScheduleSpec):
            raise backfills.BackfillError(f"trigger `{key[2]}` is a {trig.type.rsplit('.', 1)[-1]} trigger: only "
                                          "Schedule triggers are backfilled", "choose a Schedule trigger")
        if flow.disabled or spec.disabled:
            raise backfills.BackfillError(f"trigger `{key[2]}` is disabled in flow `{key[0]}.{key[1]}`",
                                          "enable it in the flow (remove `disabled: true`) first")
        return flow, spec

    def _check_inputs(self, flow: Flow, spec: triggers.ScheduleSpec, bf: Mapping[str, Any],
                      date: dt.datetime) -> None:
        """The inputs the first execution would get, typed now: a bad value is the caller's 422."""
        from lanner.model.inputs import resolve_inputs

        given = launch.render_trigger_values(spec.inputs, schedule.variables(spec, date))
        resolve_inputs(flow, {**(given or {}), **bf["inputs"]}, "api")

    # -- firing ------------------------------------------------------------------------------

    def _fire(self, flow: Flow, spec: Any, variables: dict[str, Any], execution_id: str,
              extra: Mapping[str, Any], backfill: Mapping[str, Any] | None = None) -> str | None:
        """Start one execution for a trigger; returns its id, or None when it could not start.

        A backfill's inputs and labels are laid over the trigger's own."""
        if self._exists(execution_id):
            return execution_id  # fired before a restart: do not fire twice
        key = (flow.namespace, flow.id, spec.id)
        try:
            inputs = launch.render_trigger_values(spec.inputs, variables, extra)
            labels = launch.labels_of(spec.labels, variables)
            if backfill is not None:
                inputs = {**(inputs or {}), **backfill["inputs"]}
                labels.update({i["key"]: i["value"] for i in backfill["labels"]})
            trigger = {"id": spec.id, "type": triggers.canonical_type(spec.type), "variables": variables}
            exe = self._start(flow, inputs, labels, trigger, execution_id)
        except Exception as exc:  # noqa: BLE001 - recorded on the trigger for people to read
            from lanner.errors import LannerError

            message = exc.render() if isinstance(exc, LannerError) else str(exc)
            log.error("trigger %s.%s/%s could not start an execution: %s", *key, message)
            self._update(key, lambda s: s.update(lastError=message))
            return None
        return exe.id

    # -- Flow triggers and stopAfter ---------------------------------------------------------

    def _on_execution(self, e: Ended) -> None:
        if e.trigger and e.state in triggers.TERMINAL:
            self._stop_after(e)
        for flow in self._flows:
            for spec in triggers.specs(flow):
                if isinstance(spec, triggers.FlowSpec):
                    self._isolated((flow.namespace, flow.id, spec.id), self._flow_match, flow, spec, e)

    def _flow_match(self, flow: Flow, spec: triggers.FlowSpec, e: Ended) -> None:
        if flow_trigger.matches(spec, flow.namespace, flow.id, e):
            self._flow_fire(flow, spec, e)

    def _stop_after(self, e: Ended) -> None:
        trig = e.trigger or {}
        flow = self._lookup(e.namespace, e.flow_id)
        if flow is None:
            return
        for spec in triggers.specs(flow):
            if spec.id == trig.get("id") and e.state in spec.stopAfter:
                key = (flow.namespace, flow.id, spec.id)
                self._update(key, lambda s: s.update(disabled=True,
                                                     stoppedBy={"executionId": e.id, "state": e.state}))
                log.warning("trigger %s.%s/%s disabled: execution %s ended %s (stopAfter)", *key, e.id, e.state)

    def _flow_fire(self, flow: Flow, spec: triggers.FlowSpec, e: Ended) -> None:
        key = (flow.namespace, flow.id, spec.id)
        with self._lock:
            state = dict(self._state.get(key) or {})
        if state.get("disabled"):
            return
        if spec.preconditions is not None:
            fire, progress = flow_trigger.advance_preconditions(spec, state.get("preconditions") or {}, e)
            self._update(key, lambda s: s.update(preconditions=progress))
            if not fire:
                return
        if any(multiple_conditions.is_multiple(c) for c in spec.conditions):
            fire, marks = flow_trigger.advance_multiple(spec, state.get("multipleConditions") or {}, e,
                                                        self._clock())
            self._update(key, lambda s: s.update(multipleConditions=marks))
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
            fired = {"date": iso(self._clock()), "executionId": exe_id}
            self._update(key, lambda s: s.update(fired))

    # -- Webhook (called from the API's threads) ---------------------------------------------

    def webhook(self, namespace: str, flow_id: str, key: str, body: Any, headers: dict[str, list[str]],
                parameters: dict[str, list[str]], raw: bytes = b"") -> tuple[Execution, triggers.WebhookSpec]:
        """Start the flow for its Webhook trigger with this key; raises WebhookNotFound otherwise,
        and WebhookSignatureRejected when the trigger has a `signature` that `raw` (the request
        body as received) does not carry."""
        import hmac

        from lanner.runtime import webhook_signature

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
                if spec.signature is not None:
                    webhook_signature.verify(spec.signature, flow, spec.id, raw, headers)
                variables = {"body": body, "headers": headers, "parameters": parameters}
                if spec.conditions:
                    hold, error = conditions_hold(spec, variables)
                    if error:
                        log.error("trigger %s.%s/%s: %s", *tkey, error)
                    if not hold:
                        raise WebhookConditionsUnmet(f"the conditions of trigger `{spec.id}` do not hold for this call")
                inputs = launch.render_trigger_values(spec.inputs, variables)
                labels = launch.labels_of(spec.labels, variables)
                trigger = {"id": spec.id, "type": triggers.WEBHOOK, "variables": variables}
                exe = self._start(flow, inputs, labels, trigger, None)
                self._update(tkey, functools.partial(_merge, {"date": iso(self._clock()), "executionId": exe.id}))
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
                            "stoppedBy": state.get("stoppedBy"),
                            "backfill": backfills.public(state.get("backfill")),
                            "lastBackfill": state.get("lastBackfill")})
        return out

    def set_disabled(self, key: TriggerKey, disabled: bool) -> dict[str, Any]:
        """Disable a trigger, or enable one again (after `stopAfter`); a schedule restarts from now."""
        def change(state: dict[str, Any]) -> None:
            new = toggled(state, disabled)
            state.clear()
            state.update(new)

        return self._update(key, change)


def toggled(state: dict[str, Any], disabled: bool) -> dict[str, Any]:
    """A trigger's stored state once disabled or enabled again: enabling forgets a `stopAfter`
    stop and the next date, so a schedule restarts from now instead of catching up."""
    out = {**state, "disabled": disabled}
    if not disabled:
        out.pop("stoppedBy", None)
        out.pop("nextDate", None)
    return out


def _advance_backfill(state: dict[str, Any], spec: triggers.ScheduleSpec, backfill_id: str,
                      date: dt.datetime) -> None:
    bf = state.get("backfill")
    if bf and bf["id"] == backfill_id:  # not deleted (or replaced) meanwhile
        state["backfill"] = backfills.advanced(spec, bf, date)


def _pause_backfill(state: dict[str, Any], backfill_id: str) -> None:
    bf = state.get("backfill")
    if bf and bf["id"] == backfill_id:
        state["backfill"] = {**bf, "paused": True}


def _end_backfill(state: dict[str, Any], backfill_id: str, outcome: str, at: dt.datetime) -> None:
    bf = state.get("backfill")
    if bf and bf["id"] == backfill_id:
        state["lastBackfill"] = backfills.summary(bf, outcome, at)
        state.pop("backfill", None)


def _merge(changes: Mapping[str, Any], state: dict[str, Any]) -> None:
    state.update(changes)
