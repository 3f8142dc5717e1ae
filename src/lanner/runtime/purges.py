"""What the `…execution.PurgeExecutions` and `…log.PurgeLogs` tasks ask of the runtime: delete
ended executions (rows, logs, files) and log lines chosen by namespace, flow, states and dates.

Only executions that have ended are purged, and never the execution whose task asks nor one a
process here still drives: a purge must not pull the ground from under a run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from lanner.model.execution import Execution
from lanner.storage.execution_queries import ExecutionFilter, ExecutionQueries
from lanner.storage.files import LocalFiles

_PAGE = 100


class Purges:
    def __init__(self, queries: ExecutionQueries, files: LocalFiles, busy: Callable[[str], bool]) -> None:
        self._queries = queries
        self._files = files
        self._busy = busy

    def purge_executions(self, current: str, namespace: str | None, flow_id: str | None,
                         start: dt.datetime | None, end: dt.datetime, states: Sequence[str],
                         what: dict[str, bool]) -> dict[str, int]:
        """Purge the ended executions started between `start` and `end`; the counts Kestra reports."""
        chosen = ExecutionFilter(namespace=namespace, flow_id=flow_id, states=states, start_date=start,
                                 end_date=end)
        counts = {"executionsCount": 0, "taskOutputsCount": 0, "logsCount": 0, "storagesCount": 0,
                  "metricsCount": 0}
        for exe in self._chosen(chosen):
            if (exe.id == current or not exe.state.current.terminated or self._busy(exe.id)
                    or (flow_id is not None and exe.namespace != namespace)):
                continue  # (a flow id names its namespace exactly, not the namespaces below it)
            if what["purgeStorage"]:
                counts["storagesCount"] += len(self._files.purge_execution(exe.namespace, exe.flow_id, exe.id))
            deleted, logs = self._queries.purge(exe.id, what["purgeExecution"], what["purgeLog"])
            counts["executionsCount"] += int(deleted)
            counts["logsCount"] += logs
        return counts

    def _chosen(self, chosen: ExecutionFilter) -> list[Execution]:
        """Every execution the filter selects, read page by page before anything is deleted (so
        deleting does not shift the pages)."""
        out: list[Execution] = []
        page = 1
        while True:
            found, _ = self._queries.search(chosen, page=page, size=_PAGE, sort="id", with_task_runs=False)
            out.extend(found)
            if len(found) < _PAGE:
                return out
            page += 1

    def purge_logs(self, current: str, namespace: str | None, flow_id: str | None, execution_id: str | None,
                   levels: Sequence[str], start: dt.datetime | None, end: dt.datetime) -> dict[str, Any]:
        count = self._queries.purge_logs(ExecutionFilter(namespace=namespace, flow_id=flow_id), execution_id,
                                         levels, start, end, keep_execution=current)
        return {"count": count, "executionLogsCount": count, "nonExecutionLogsCount": 0}
