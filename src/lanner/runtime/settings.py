"""How a server process is configured: `lanner.yaml`, then the environment, then flags.

One file serves every role, so that the executors, workers, schedulers and webservers of one
installation agree on the database, the internal storage and the heartbeat timings:

```yaml
database:
  url: postgresql://lanner@db.internal:5432/lanner   # default: SQLite under LANNER_HOME
storage:
  path: /mnt/lanner/storage        # internal storage (kestra:// files); shared by every machine
worker:
  threads: 16
  heartbeat: PT1S                  # how often a worker says it is alive
  deadAfter: PT10S                 # silent this long (and its process gone): its running jobs go back
  shutdownGrace: PT30S             # on SIGTERM, running attempts get this long to finish
executor:
  poll: PT1S                       # fallback when no LISTEN/NOTIFY wake-up arrives
  maxTaskRuns: 200000              # task runs one execution may create (a runaway guard)
```

The file is `--config PATH`, else `$LANNER_CONFIG`, else `$LANNER_HOME/lanner.yaml` when it
exists. `LANNER_DATABASE_URL` overrides `database.url` (a password is better kept in the
environment than in a file), and `LANNER_MAX_TASK_RUNS` overrides `executor.maxTaskRuns` (read by
`lanner run` too). Durations are ISO-8601 (`PT10S`) or plain seconds.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from lanner.engine.executor import DEFAULT_MAX_TASK_RUNS
from lanner.errors import LannerError, Located

CONFIG_NAME = "lanner.yaml"


@dataclasses.dataclass(slots=True)
class ClusterSettings:
    database_url: str
    storage_path: Path
    threads: int = 16
    worker_group: str = ""  # "" = the default group (tasks without workerGroup.key)
    heartbeat_seconds: float = 1.0
    dead_after_seconds: float = 10.0
    poll_seconds: float = 1.0
    executor_batch: int = 100  # executions locked and advanced per executor transaction
    scheduler_lease_seconds: float = 10.0
    max_task_runs: int = DEFAULT_MAX_TASK_RUNS  # per execution; past it the execution fails
    grace_seconds: float = 30.0  # SIGTERM: running attempts get this long to finish before they are cancelled
    source: Path | None = None  # the lanner.yaml read, if any

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    def export(self) -> None:
        """Make the configured database the one `lanner.storage.db.connect()` opens in this process."""
        os.environ["LANNER_DATABASE_URL"] = self.database_url


def max_task_runs(configured: Any = None) -> int:
    """The task runs one execution may create: $LANNER_MAX_TASK_RUNS, else `configured`, else the default."""
    raw = os.environ.get("LANNER_MAX_TASK_RUNS")
    where = "LANNER_MAX_TASK_RUNS" if raw else "executor.maxTaskRuns"
    raw = raw or configured
    if raw is None or raw == "":
        return DEFAULT_MAX_TASK_RUNS
    try:
        value = int(str(raw).replace("_", "").replace(",", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise LannerError(f"{where} must be a positive whole number, not `{raw}`",
                          hint=f"e.g. {DEFAULT_MAX_TASK_RUNS} (the default), or unset it")
    return value


def config_path(given: str | Path | None = None) -> Path | None:
    """The lanner.yaml to read: the flag, $LANNER_CONFIG, or $LANNER_HOME/lanner.yaml if present."""
    if given:
        path = Path(given)
        if not path.is_file():
            raise LannerError(f"config file `{path}` does not exist", hint="give --config the path of a lanner.yaml")
        return path
    env = os.environ.get("LANNER_CONFIG")
    if env:
        return config_path(env)
    from lanner.storage.db import lanner_home

    candidate = lanner_home() / CONFIG_NAME
    return candidate if candidate.is_file() else None


def load(given: str | Path | None = None, **overrides: Any) -> ClusterSettings:
    """Settings from the config file and the environment; `overrides` (flags) win when not None."""
    from lanner.storage.db import database_url, lanner_home

    path = config_path(given)
    doc = _read(path) if path else {}
    database = _section(doc, "database", path)
    storage = _section(doc, "storage", path)
    worker = _section(doc, "worker", path)
    executor = _section(doc, "executor", path)
    url = os.environ.get("LANNER_DATABASE_URL") or database.get("url") or database_url()
    if not isinstance(url, str) or not url.startswith(("sqlite", "postgresql")):
        raise LannerError(f"database url `{url}` is neither sqlite:/// nor postgresql://",
                          hint="e.g. postgresql://lanner@127.0.0.1:5432/lanner")
    settings = ClusterSettings(
        database_url=url,
        storage_path=Path(storage.get("path") or os.environ.get("LANNER_STORAGE_PATH") or lanner_home() / "storage"),
        threads=int(worker.get("threads", 16)),
        worker_group=str(worker.get("group") or ""),
        heartbeat_seconds=_seconds(worker.get("heartbeat", os.environ.get("LANNER_WORKER_HEARTBEAT", 1.0)),
                                   "worker.heartbeat"),
        dead_after_seconds=_seconds(worker.get("deadAfter", os.environ.get("LANNER_WORKER_DEAD_AFTER", 10.0)),
                                    "worker.deadAfter"),
        poll_seconds=_seconds(executor.get("poll", os.environ.get("LANNER_POLL", 1.0)), "executor.poll"),
        executor_batch=int(executor.get("batch", 100)),
        max_task_runs=max_task_runs(executor.get("maxTaskRuns")),
        grace_seconds=_seconds(worker.get("shutdownGrace", os.environ.get("LANNER_STOP_GRACE", "30")),
                               "worker.shutdownGrace"),
        source=path,
    )
    for key, value in overrides.items():
        if value is not None:
            setattr(settings, key, value)
    if settings.dead_after_seconds < 3 * settings.heartbeat_seconds:
        raise LannerError(f"worker.deadAfter ({settings.dead_after_seconds}s) must be at least three heartbeats "
                          f"({3 * settings.heartbeat_seconds}s)", hint="raise deadAfter or shorten heartbeat")
    return settings


def _read(path: Path) -> dict[str, Any]:
    from lanner.model import plain_yaml, yaml_source

    try:
        doc = plain_yaml.load(path.read_text(encoding="utf-8"))
    except yaml_source.YamlError as exc:
        line = exc.line + 1 if exc.line is not None else None
        column = exc.column + 1 if exc.column is not None and line is not None else None
        raise LannerError(f"not valid YAML: {exc.problem}", hint="fix the file or remove it",
                          where=Located(str(path), line, column)) from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise LannerError(f"{path}: the top level must be a map (database:, worker:, …)", hint="see docs/cluster.md")
    return doc


def _section(doc: dict[str, Any], name: str, path: Path | None) -> dict[str, Any]:
    value = doc.get(name) or {}
    if not isinstance(value, dict):
        raise LannerError(f"{path}: `{name}` must be a map", hint="see docs/cluster.md")
    return value


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    from lanner.model.duration import parse_duration

    try:
        return parse_duration(text).total_seconds()
    except LannerError as exc:
        raise LannerError(f"{key}: `{text}` is not a duration", hint="write seconds (10) or ISO-8601 (PT10S)") from exc
