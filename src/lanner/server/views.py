"""The JSON the API answers with, in Kestra's shapes, with secrets masked.

A flow is answered from its YAML source (the text the user wrote, parsed), so every property
of every task appears as written. An execution is `Execution.to_json()` with the values of its
SECRET inputs replaced by `******` wherever they occur (inputs, task outputs, flow outputs), and
the values `secret()` can read replaced in inputs, outputs and loop values. `mask` is the one
masking function: the CLI prints executions through it too.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from lanner.model.execution import Execution
from lanner.model.flow import Flow
from lanner.model.inputs import MASK, mask, mask_execution_json, mask_task_run_json, secret_values

__all__ = ["MASK", "execution_json", "execution_json_parts", "flow_json", "log_json", "log_line", "log_secrets", "mask",
           "masked_execution"]


def flow_json(stored: Any, flow: Flow | None = None, source: bool = True) -> dict[str, Any]:
    """Kestra's FlowWithSource: the parsed YAML plus revision, deleted, updated and source."""
    from lanner.model import yaml_source

    try:
        data = yaml_source.plain(yaml_source.load(stored.source)) or {}
    except yaml_source.YamlError:  # a stored source always parsed once; be lenient when showing it
        data = {}
    if not isinstance(data, dict):
        data = {}
    labels = data.get("labels")
    if isinstance(labels, dict):
        data["labels"] = [{"key": str(k), "value": "" if v is None else str(v)} for k, v in labels.items()]
    data = _jsonable(data)
    data.update(id=stored.id, namespace=stored.namespace, revision=stored.revision, deleted=stored.deleted,
                updated=stored.updated, disabled=bool(data.get("disabled", False)))
    if source:
        data["source"] = stored.source
    return data


def _jsonable(value: Any) -> Any:
    """YAML's dates and other scalars → JSON-friendly values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def execution_json(exe: Execution, flow: Flow | None) -> dict[str, Any]:
    """The execution with its SECRET inputs masked everywhere, and every value `secret()` can read
    in this process masked in what tasks and users put there (inputs, outputs, loop values, notes):
    which secrets a task read is not recorded, and the worker masks them only in its logs."""
    return masked_execution(exe.to_json(), exe, flow)


def masked_execution(data: dict[str, Any], exe: Execution, flow: Flow | None) -> dict[str, Any]:
    """`data`, an execution's JSON (from `to_json`, or as stored for an ended one), masked as
    `execution_json` says; `exe` gives its inputs (its task runs are not read)."""
    masking = ExecutionMask.of(exe, flow)
    out = masking.around_runs({**data, "taskRunList": []})
    out["taskRunList"] = [masking.run(run) for run in data["taskRunList"]]
    return out


def execution_json_parts(exe: Execution, flow: Flow | None,
                         also: Iterable[str] = ()) -> tuple[dict[str, Any], Iterator[Any]]:
    """`execution_json(exe, flow)`, masked further with the values `also`, in two parts: the
    execution with an empty `taskRunList`, and its task runs' JSON one at a time. For a writer
    that must not hold the JSON of every task run at once (`lanner run --json` of a ForEach over
    100,000 values needed 1.4 GB that way)."""
    masking = ExecutionMask.of(exe, flow, also)
    return masking.around_runs(exe.json_around_runs()), (masking.run(run.to_json()) for run in exe.task_runs)


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutionMask:
    """How one execution's JSON is masked, worked out once for all its task runs: the values of
    its SECRET inputs everywhere but in what identifies it, what `secret()` can read in what tasks
    and users put there (inputs, outputs, loop values, notes), and `also` (values a caller masks
    everywhere too, as the CLI does)."""

    hidden: frozenset[str]  # the flow's SECRET inputs
    secrets: tuple[str, ...]  # their values in this execution
    readable: tuple[str, ...]
    also: tuple[str, ...]

    @classmethod
    def of(cls, exe: Execution, flow: Flow | None, also: Iterable[str] = ()) -> ExecutionMask:
        from lanner.secrets import available_values

        hidden = frozenset(i.id for i in flow.inputs if i.type == "SECRET") if flow is not None else frozenset()
        return cls(hidden, secret_values(flow, exe), available_values(), tuple(s for s in also if s))

    def around_runs(self, data: dict[str, Any]) -> dict[str, Any]:
        """Everything but the task runs; `data` is never written to (its inputs may be the model's
        own dict: masking used to write `******` into an execution's inputs)."""
        if any(data["inputs"].get(name) is not None for name in self.hidden):  # a null one hides nothing
            data = {**data, "inputs": {k: MASK if k in self.hidden and v is not None else v
                                       for k, v in data["inputs"].items()}}
        if self.secrets:
            data = mask_execution_json(data, self.secrets)
        if self.readable:
            data = {**data}
            for key in ("inputs", "outputs", "variables", "trigger", "notes"):
                if key in data:
                    data[key] = mask(data[key], self.readable)
        return mask_execution_json(data, self.also)

    def run(self, run: Any) -> Any:
        """One task run's JSON."""
        run = mask_task_run_json(run, self.secrets)
        if self.readable:
            run = {**run, "outputs": mask(run.get("outputs"), self.readable),
                   "value": mask(run.get("value"), self.readable)}
        return mask_task_run_json(run, self.also)


def log_secrets(flow: Flow | None, exe: Execution | None) -> tuple[str, ...]:
    """What a log line shown by the API must not contain: the execution's SECRET inputs and every
    value `secret()` can read here (a task that logs another task's output holding a secret
    was not the one that read it, so the worker did not mask it)."""
    from lanner.secrets import available_values

    return (*(secret_values(flow, exe) if exe is not None else ()), *available_values())


def log_json(row: dict[str, Any], exe: Execution | None, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """Kestra's LogEntry from a stored log row."""
    out = {
        "namespace": exe.namespace if exe else None,
        "flowId": exe.flow_id if exe else None,
        "executionId": row["execution_id"],
        "taskRunId": row["task_run_id"],
        "taskId": row["task_id"],
        "attemptNumber": row["attempt"],
        "timestamp": row["timestamp"],
        "level": row["level"],
        "message": mask(row["message"], secrets),
        "index": row["seq"],
    }
    if exe is not None and exe.trigger and exe.trigger.get("id") and not row["task_id"]:
        out["triggerId"] = exe.trigger.get("id")
    return out


def log_line(row: dict[str, Any], secrets: Iterable[str] = ()) -> str:
    """One line of a log download: timestamp, level, task, message."""
    return f"{row['timestamp']} {row['level']:<5} {row['task_id'] or '-'} {mask(row['message'], secrets)}\n"


def json_text(value: Any, *, compact: bool = True, indent: int | None = None, ensure_ascii: bool = True) -> str:
    """An execution's JSON text (the API's compact one, `--json`'s indented one), with non-finite
    numbers as null.

    A script's outputs line may hold `NaN` or `Infinity` (Python's JSON reader takes them), which
    `json.dumps` writes back as such and no browser's JSON reader (nor jq) takes: the execution
    page and any strict client failed on them. FastAPI's own answers wrote null, as these now do.
    A NaN is rare, so the plain dump is tried first and the value walked only when it fails."""
    separators = (",", ":") if compact and indent is None else None
    try:
        return json.dumps(value, default=str, separators=separators, indent=indent, ensure_ascii=ensure_ascii,
                          allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), default=str, separators=separators, indent=indent,
                          ensure_ascii=ensure_ascii)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
