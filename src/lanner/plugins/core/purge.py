"""`…core.execution.PurgeExecutions` (old names `…storage.Purge`) and `…core.log.PurgeLogs`:
delete ended executions — their rows, logs and files — and log lines, chosen by namespace (a
prefix unless `flowId` is given), flow, states and dates.

The work is the runtime's (`runtime/purges.py`), reached through `ctx.executions`; it never
touches the execution that runs the task, nor one that has not ended.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar, Protocol

from pydantic import model_validator

from lanner.model.property import Bool, Int
from lanner.model.results import LEVELS
from lanner.model.state import StateType
from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure, output_docs
from lanner.plugins.properties import render_bool, render_int, render_list, render_str

_ZONE_ID = re.compile(r"\[[^\]]*\]$")  # Java's `…+01:00[Europe/Paris]`: the offset says the instant


class Purging(Protocol):
    def purge_executions(self, current: str, namespace: str | None, flow_id: str | None, start: dt.datetime | None,
                         end: dt.datetime, states: list[str], what: dict[str, bool]) -> dict[str, int]: ...
    def purge_logs(self, current: str, namespace: str | None, flow_id: str | None, execution_id: str | None,
                   levels: list[str], start: dt.datetime | None, end: dt.datetime) -> dict[str, Any]: ...


def _service(ctx: RunContext) -> Purging:
    service: Purging | None = getattr(ctx, "executions", None)
    if service is None:
        raise TaskFailure("purging is not available in this runtime")
    return service


def render_instant(ctx: RunContext, value: str | None, name: str) -> dt.datetime | None:
    """An ISO date-time with an offset (Kestra's ZonedDateTime); one without is taken as UTC."""
    text = render_str(ctx, value)
    if text is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(_ZONE_ID.sub("", text.strip()))
    except ValueError:
        raise TaskFailure(f"`{name}` must be an ISO date-time such as 2024-01-31T00:00:00Z, got `{text}`") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _names(ctx: RunContext, value: Any, name: str, allowed: tuple[str, ...]) -> list[str]:
    names = [n.strip().upper() for n in render_list(ctx, value, name)]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise TaskFailure(f"`{name}`: unknown {', '.join(unknown)}; use {', '.join(allowed)}")
    return names


def _flow_needs_namespace(namespace: str | None, flow_id: str | None) -> None:
    if flow_id is not None and namespace is None:
        raise ValueError("`flowId` needs `namespace`: a flow is named by both")


class PurgeExecutions(RunnableTask):
    """Outputs Kestra's counts; `taskOutputsCount` and `metricsCount` are always 0 (Lanner keeps
    task outputs inside the execution and records no metrics)."""

    outputs_doc = output_docs(
        executionsCount=("integer", "How many executions were deleted"),
        taskOutputsCount=("integer", "How many task outputs were deleted"),
        logsCount=("integer", "How many log lines were deleted"),
        storagesCount=("integer", "How many files of internal storage were deleted"),
        metricsCount=("integer", "How many metrics were deleted"),
    )

    acts_outside: ClassVar[bool] = False  # Lanner's own store and files

    namespace: str | None = None
    flowId: str | None = None
    startDate: str | None = None
    endDate: str
    states: list[str] | str | None = None
    purgeExecution: Bool = True
    purgeLog: Bool = True
    purgeMetric: Bool = True  # nothing to purge: Lanner records no metrics
    purgeStorage: Bool = True
    batchSize: Int = 100  # Kestra's delete batch; Lanner deletes execution by execution

    no_effect: ClassVar[dict[str, str]] = {"purgeMetric": "Lanner records no metrics, so there are none to purge"}

    @model_validator(mode="after")
    def _flow(self) -> PurgeExecutions:
        _flow_needs_namespace(self.namespace, self.flowId)
        return self

    def run(self, ctx: RunContext) -> Output:
        if (render_int(ctx, self.batchSize, "batchSize") or 0) <= 0:
            raise TaskFailure("`batchSize` must be more than zero")
        end = render_instant(ctx, self.endDate, "endDate")
        assert end is not None
        what = {name: render_bool(ctx, getattr(self, name), name)
                for name in ("purgeExecution", "purgeLog", "purgeStorage")}
        counts = _service(ctx).purge_executions(
            ctx.execution_id, render_str(ctx, self.namespace), render_str(ctx, self.flowId),
            render_instant(ctx, self.startDate, "startDate"), end,
            _names(ctx, self.states, "states", tuple(s.value for s in StateType)), what)
        return Output(counts)


class PurgeLogs(RunnableTask):
    """Outputs `count`, `executionLogsCount` and `nonExecutionLogsCount` (always 0: every log line
    of Lanner belongs to an execution; trigger errors go to the server's own log)."""

    outputs_doc = output_docs(
        count=("integer", "How many log lines were deleted"),
        executionLogsCount=("integer", "How many of them belonged to executions"),
        nonExecutionLogsCount=("integer", "How many did not (always 0: Lanner keeps no others)"),
    )

    acts_outside: ClassVar[bool] = False  # Lanner's own store

    namespace: str | None = None
    flowId: str | None = None
    executionId: str | None = None
    logLevels: list[str] | str | None = None
    startDate: str | None = None
    endDate: str
    purgeExecutionLogs: Bool = True
    purgeNonExecutionLogs: Bool = True  # there are none to purge
    batchSize: Int | None = None  # Kestra's MySQL batch size; one delete here

    no_effect: ClassVar[dict[str, str]] = {
        "purgeNonExecutionLogs": "Lanner keeps no logs outside executions, so there are none to purge",
        "batchSize": "Kestra's delete batch size on MySQL; Lanner deletes the matching logs in one statement",
    }

    @model_validator(mode="after")
    def _flow(self) -> PurgeLogs:
        _flow_needs_namespace(self.namespace, self.flowId)
        return self

    def run(self, ctx: RunContext) -> Output:
        end = render_instant(ctx, self.endDate, "endDate")
        assert end is not None
        levels = _names(ctx, self.logLevels, "logLevels", LEVELS)
        if not render_bool(ctx, self.purgeExecutionLogs, "purgeExecutionLogs"):
            return Output({"count": 0, "executionLogsCount": 0, "nonExecutionLogsCount": 0})
        counts = _service(ctx).purge_logs(
            ctx.execution_id, render_str(ctx, self.namespace), render_str(ctx, self.flowId),
            render_str(ctx, self.executionId), levels, render_instant(ctx, self.startDate, "startDate"), end)
        return Output(counts)
