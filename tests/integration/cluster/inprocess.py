"""A cluster inside the test process: executors and workers as threads on one database.

The roles are the real ones (the same classes the `lanner server …` processes run); only the
process boundary is missing, which the tests under test_processes*.py add.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lanner.loading.flows import load_flow
from lanner.model.execution import Execution
from lanner.runtime.cluster_client import ClusterClient
from lanner.runtime.queues.database import QueueDatabase
from lanner.runtime.settings import ClusterSettings


class InProcessCluster:
    def __init__(self, url: str, tmp: Path, **settings: Any) -> None:
        self.url = url
        self.tmp = tmp
        self.settings = ClusterSettings(database_url=url, storage_path=tmp / "storage", threads=4,
                                        heartbeat_seconds=0.2, dead_after_seconds=1.0, poll_seconds=0.5, **settings)
        self.db = QueueDatabase(url)
        self.client = ClusterClient(self.db)
        self.roles: list[Any] = []
        self._threads: list[Any] = []

    def settings_for(self, **changes: Any) -> ClusterSettings:
        import dataclasses

        return dataclasses.replace(self.settings, **changes)

    def start_executor(self) -> Any:
        from lanner.runtime.cluster_executor import ClusterExecutor
        from lanner.runtime.workdirs import WorkingDirectories
        from lanner.storage.files import LocalFiles

        files = LocalFiles(self.settings.storage_path)
        workdirs = WorkingDirectories(self.tmp / "work", files)
        return self._start(ClusterExecutor(self.db, self.settings, workdirs=workdirs))

    def start_worker(self, **changes: Any) -> Any:
        from lanner.runtime.cluster_worker import ClusterWorker

        return self._start(ClusterWorker(self.db, self.settings_for(**changes)))

    def _start(self, role: Any) -> Any:
        import threading

        thread = threading.Thread(target=role.run, daemon=True)
        thread.start()
        self.roles.append(role)
        self._threads.append(thread)
        return role

    def stop(self, role: Any) -> None:
        role.stop()
        index = self.roles.index(role)
        self._threads[index].join(timeout=15)

    def run(self, yaml_text: str, inputs: dict[str, Any] | None = None, timeout: float = 30) -> Execution:
        return self.wait(self.start(yaml_text, inputs).id, timeout)

    def start(self, yaml_text: str, inputs: dict[str, Any] | None = None) -> Execution:
        return self.client.start(load_flow(yaml_text), inputs)

    def wait(self, execution_id: str, timeout: float = 30, states: tuple[str, ...] | None = None) -> Execution:
        deadline = time.monotonic() + timeout
        exe = None
        while time.monotonic() < deadline:
            exe = self.client.get(execution_id)
            if exe is not None:
                if states is not None and exe.state.current.value in states:
                    return exe
                if states is None and exe.state.current.terminated and all(r.current.terminated for r in exe.task_runs):
                    return exe
            time.sleep(0.05)
        raise AssertionError(f"execution {execution_id} did not end in {timeout}s: "
                             f"{exe.state.current if exe else None} "
                             f"{[(r.task_id, r.current.value) for r in exe.task_runs] if exe else ''}")

    def close(self) -> None:
        for role in reversed(self.roles):
            role.stop()
        for thread in self._threads:
            thread.join(timeout=15)
        self.db.close()


def by_task(exe: Execution) -> dict[str, Any]:
    return {r.task_id if r.value is None else f"{r.task_id}[{r.value}]": r for r in exe.task_runs}


def log_messages(cluster: InProcessCluster, execution_id: str, task_id: str | None = None) -> list[str]:
    """The stored log lines of an execution (of one of its tasks), in the order written."""
    import sqlalchemy as sa

    from lanner.storage import tables

    t = tables.logs
    q = sa.select(t.c.message).where(t.c.execution_id == execution_id).order_by(t.c.seq)
    if task_id is not None:
        q = q.where(t.c.task_id == task_id)
    with cluster.db.reader.connect() as conn:
        return [r.message for r in conn.execute(q)]
