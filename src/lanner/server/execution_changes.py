"""Changes the API makes to ended executions: labels, a manual status, bulk delete and kill.

Only an execution that has ended, and that no executor is still finishing (`afterExecution`),
is changed here: the executor writes the execution's header while it drives it, so a change
made beside it would be lost or would undo its work. A running execution is killed first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lanner.model import ids
from lanner.model.execution import Execution
from lanner.model.state import History, StateType, now
from lanner.server.problems import ApiProblem
from lanner.server.services import Services

SYSTEM = "system."
# The endings a person may set by hand (Kestra's change-status): each is a terminal state.
SETTABLE = (StateType.SUCCESS, StateType.WARNING, StateType.FAILED, StateType.KILLED, StateType.CANCELLED)


def ended(svc: Services, execution_id: str, doing: str) -> Execution:
    """The execution, refused (409) while it runs or is being finished."""
    exe = svc.execution(execution_id)
    if not exe.state.current.terminated or exe.id in svc.runtime.live:
        raise ApiProblem(409, f"execution {execution_id} is {exe.state.current.value}; {doing} needs an ended "
                              "execution", hint="wait for its end, or kill it first")
    return exe


def _save(svc: Services, exe: Execution) -> Execution:
    svc.repo.save(exe, (), header=True)
    svc.hub.poke(exe.id)
    fresh = svc.queries.get(exe.id)
    assert fresh is not None
    return fresh


def set_labels(svc: Services, execution_id: str, labels: Iterable[tuple[str, str]]) -> Execution:
    """Replace the execution's labels with `labels` (Kestra's `POST /executions/{id}/labels`);
    the `system.` labels Lanner set (e.g. `system.correlationId`) stay."""
    exe = ended(svc, execution_id, "setting its labels")
    chosen = {k: v for k, v in exe.labels.items() if k.startswith(SYSTEM)}  # Lanner's own, kept
    for key, value in labels:
        if not key.strip():
            raise ApiProblem(422, "a label has an empty key", hint='send e.g. [{"key": "team", "value": "data"}]')
        if key.startswith(SYSTEM):
            raise ApiProblem(422, f"label `{key[:60]}` is a system label, set by Lanner only",
                             hint=f"use a key that does not start with `{SYSTEM}`")
        chosen[key] = value
    exe.labels = chosen
    return _save(svc, exe)


def change_status(svc: Services, execution_id: str, status: str) -> Execution:
    """Set an ended execution's state by hand; the history keeps the move and when."""
    try:
        target = StateType(status.upper())
    except ValueError:
        target = None
    if target not in SETTABLE:
        raise ApiProblem(422, f"status=`{status[:40]}` cannot be set by hand",
                         hint="use one of " + ", ".join(s.value for s in SETTABLE))
    assert target is not None
    exe = ended(svc, execution_id, "changing its status")
    if exe.state.current is not target:
        exe.state.current = target  # a manual override: the state machine has no move between endings
        exe.state.histories.append(History(target, now()))
    return _save(svc, exe)


def _problems_of(svc: Services, execution_ids: list[str], running_ok: bool,
                 allowed: tuple[str, ...] | None) -> list[dict[str, Any]]:
    invalids = []
    for execution_id in execution_ids:
        try:
            ids.check("execution id", execution_id)
        except ids.BadIdentifier as exc:
            invalids.append({"invalidValue": execution_id[:60], "message": exc.message})
            continue
        state = svc.queries.state_of(execution_id)
        if state is None:
            invalids.append({"invalidValue": execution_id, "message": "execution not found"})
        elif running_ok:
            if StateType(state).terminated:
                invalids.append({"invalidValue": execution_id, "message": f"execution is {state}"})
        elif (state not in allowed) if allowed else not StateType(state).terminated:
            invalids.append({"invalidValue": execution_id, "message": f"execution is {state}"})
        elif execution_id in svc.runtime.live:
            invalids.append({"invalidValue": execution_id, "message": "execution is still being finished"})
    return invalids


def refuse_invalid(svc: Services, execution_ids: list[str], action: str, running_ok: bool,
                   allowed: tuple[str, ...] | None = None) -> None:
    """Kestra's BulkErrorResponse (422 here, nothing done) when any id cannot be acted on: malformed,
    unknown, ended (`running_ok`), or else not ended — not in `allowed` when given — or still being
    finished by an executor."""
    invalids = _problems_of(svc, execution_ids, running_ok, allowed)
    if invalids:
        wanted = "running" if running_ok else " or ".join(allowed) if allowed else "ended"
        raise ApiProblem(422, f"invalid bulk {action}: " + "; ".join(
            f"{i['invalidValue']}: {i['message']}" for i in invalids[:5]),
            hint=f"nothing was done; send only ids of {wanted} executions", extra={"invalids": invalids})


def delete_many(svc: Services, execution_ids: list[str], logs: bool, storage: bool) -> int:
    refuse_invalid(svc, execution_ids, "delete", running_ok=False)
    count = 0
    for execution_id in dict.fromkeys(execution_ids):
        exe = svc.execution(execution_id)
        if storage:
            svc.files.purge_execution(exe.namespace, exe.flow_id, exe.id)
        count += svc.queries.purge(execution_id, execution=True, logs=logs)[0]
    return count


def kill_many(svc: Services, execution_ids: list[str]) -> int:
    refuse_invalid(svc, execution_ids, "kill", running_ok=True)
    unique = list(dict.fromkeys(execution_ids))
    for execution_id in unique:
        svc.runtime.kill(execution_id, hard=False)  # finally blocks still run
    return len(unique)
