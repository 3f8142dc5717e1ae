"""The roles one process runs, wired on one database: executor, worker, scheduler, webserver.

`lanner server executor|worker|scheduler` run one role each; `webserver` serves the API and
queues what it is asked; `standalone` runs all of them in one process. Roles share the process's
`QueueDatabase` (one pool, one LISTEN connection) and its parsed flows, and each runs in its own
thread so that a stop (SIGTERM, Ctrl-C) can let each one finish cleanly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from lanner.runtime.cluster_client import ClusterClient
from lanner.runtime.queues.base import CANCELS, CHANGES, EVENTS, EXECUTIONS, JOBS
from lanner.runtime.queues.database import QueueDatabase
from lanner.runtime.settings import ClusterSettings
from lanner.runtime.stored_flows import StoredFlows

log = logging.getLogger("lanner.roles")
ROLES = ("executor", "worker", "scheduler", "webserver")
# the wake-up channels each role waits on: a process LISTENs only to those of its roles
CHANNELS_OF = {"executor": (EVENTS,), "worker": (JOBS, CANCELS), "scheduler": (CHANGES,), "webserver": (EXECUTIONS,)}


class Roles:
    def __init__(self, settings: ClusterSettings, roles: Iterable[str]) -> None:
        from lanner.runtime.workdirs import WorkingDirectories
        from lanner.storage.files import LocalFiles

        self.settings = settings
        self.names = [r for r in ROLES if r in set(roles)]
        self.db = QueueDatabase(settings.database_url, pool_size=max(5, min(settings.threads, 20)),
                                channels=[c for name in self.names for c in CHANNELS_OF[name]])
        self.flows = StoredFlows(self.db.reader)
        self.client = ClusterClient(self.db, self.flows)
        self.files = LocalFiles(settings.storage_path)
        self.runners: list[Any] = []
        if "executor" in self.names:
            from lanner.runtime.cluster_executor import ClusterExecutor

            workdirs = WorkingDirectories(settings.storage_path.parent / "work", self.files)
            self.runners.append(ClusterExecutor(self.db, settings, self.flows, workdirs))
        if "worker" in self.names:
            from lanner.runtime.cluster_worker import ClusterWorker

            self.runners.append(ClusterWorker(self.db, settings, self.flows))
        if "scheduler" in self.names:
            from lanner.runtime.cluster_scheduler import SchedulerRole

            self.runners.append(SchedulerRole(self.db, settings, self.make_scheduler))
        self._threads: list[threading.Thread] = []

    def make_scheduler(self) -> Any:
        from lanner.runtime import cluster_scheduler

        return cluster_scheduler.build(self.db, self.client, self.flows)

    def start(self) -> None:
        for runner in self.runners:
            name = type(runner).__name__
            thread = threading.Thread(target=self._run, args=(runner,), name=f"lanner-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("running %s on %s", ", ".join(self.names), redacted(self.settings.database_url))

    def _run(self, runner: Any) -> None:
        try:
            runner.run()
        except Exception:  # noqa: BLE001 - say so loudly; the process supervisor restarts us
            log.exception("%s stopped on an error", type(runner).__name__)

    def stop(self, timeout: float | None = None) -> None:
        """Stop every role the graceful way: no new work; a worker's running attempts get the grace
        period to finish, then are stopped and handed back. Waits for them (`timeout`: default the
        grace period plus the kill grace)."""
        from lanner.worker.worker import KILL_GRACE_SECONDS

        for runner in self.runners:
            runner.stop()
        limit = timeout if timeout is not None else self.settings.grace_seconds + KILL_GRACE_SECONDS + 5
        deadline = time.monotonic() + limit
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.1))
        self.db.close()

    def stop_now(self) -> None:
        """The second signal: running attempts are stopped at once (and handed back), no grace period."""
        for runner in self.runners:
            getattr(runner, "stop_now", runner.stop)()

    def alive(self) -> bool:
        return all(t.is_alive() for t in self._threads)


def redacted(url: str) -> str:
    """The database URL without its password, for logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url
