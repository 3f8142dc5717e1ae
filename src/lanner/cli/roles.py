"""`lanner server executor|worker|scheduler|webserver|standalone` and `lanner db upgrade`.

Each command reads the configuration (`--config`, `$LANNER_CONFIG`, `$LANNER_HOME/lanner.yaml`,
`LANNER_DATABASE_URL`), upgrades the schema if needed (processes starting together take turns),
then runs its role until SIGTERM or Ctrl-C, when it stops cleanly: it takes no new work, and a
worker lets its running attempts finish within `worker.shutdownGrace` (30 s), then stops the rest
and hands them back to other workers. A second signal skips the grace period (and whatever the
stopped attempts still have running is ended before the process exits); a third exits at once.
`webserver` and `standalone` behave the same: Lanner's handlers replace uvicorn's
(`server/serving.py`). A process killed with SIGKILL loses nothing either: what it was doing is
picked up by the others, or by itself once restarted.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

import typer

CONFIG = typer.Option(None, "--config", "-c", envvar="LANNER_CONFIG", help="The lanner.yaml to read.")
LOG_LEVEL = typer.Option("info", "--log-level", help="Log level (debug, info, warning).")
db_app = typer.Typer(no_args_is_help=True, help="The database: schema migrations.")


def _fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(2)


def _settings(config: str | None, **overrides: Any) -> Any:
    from lanner.errors import LannerError
    from lanner.runtime import settings

    try:
        loaded = settings.load(config, **overrides)
    except LannerError as exc:
        _fail(exc.render())
    loaded.export()
    return loaded


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _run_roles(names: list[str], config: str | None, level: str, **overrides: Any) -> None:
    """Run non-web roles in this process until a signal; a second signal stops at once."""
    from lanner.runtime.roles import Roles
    from lanner.runtime.stopping import StopSignals

    _logging(level)
    settings = _settings(config, **overrides)
    roles = Roles(settings, names)
    done = threading.Event()

    def graceful() -> None:
        _say_stopping(names, settings)
        done.set()

    with StopSignals(graceful, lambda: _stop_now(names, roles)).installed() as stops:
        roles.start()
        sys.stderr.write(f"lanner {' + '.join(names)} running (pid {os.getpid()})\n")
        sys.stderr.flush()
        while not done.wait(1.0):
            if not roles.alive():
                sys.stderr.write("error: a role stopped on an error; see the log above\n")
                roles.stop()
                raise typer.Exit(1)
        roles.stop()
    if stops.hard_asked:
        end_leftovers()


def _say_stopping(names: list[str], settings: Any) -> None:
    """The first signal's words (the same for every role and for standalone)."""
    if "worker" in names:
        sys.stderr.write(f"stopping: running tasks get {settings.grace_seconds:.0f}s to finish, then go "
                         "back to other workers (signal again to stop them now)\n")
    else:
        sys.stderr.write("stopping: no new work is taken (signal again to stop at once)\n")
    sys.stderr.flush()


def _stop_now(names: list[str], roles: Any) -> None:
    """The second signal: running attempts are stopped at once and handed back to other workers."""
    if "worker" in names:
        sys.stderr.write("stopping now: running tasks are stopped and handed back (signal again to exit at once)\n")
    else:
        sys.stderr.write("stopping now (signal again to exit at once)\n")
    sys.stderr.flush()
    roles.stop_now()


def end_leftovers() -> None:
    """After a hard stop, before the process exits: end the process groups and containers that
    attempts of this process still have running (a stuck task thread does not get to), saying so."""
    from lanner.worker.leftovers import terminate_all

    for sentence in terminate_all():
        sys.stderr.write(f"Hard stop: {sentence}\n")
    sys.stderr.flush()


def register(server_app: typer.Typer) -> None:
    @server_app.command("executor")
    def executor(config: str | None = CONFIG, log_level: str = LOG_LEVEL) -> None:
        """Apply events to executions (any number of executors; each execution is locked while applied)."""
        _run_roles(["executor"], config, log_level)

    @server_app.command("worker")
    def worker(config: str | None = CONFIG, log_level: str = LOG_LEVEL,
               threads: int | None = typer.Option(None, "--threads", help="Tasks run at once (default 16)."),
               worker_group: str | None = typer.Option(None, "--worker-group",
                                                       help="Run only tasks whose workerGroup.key is this.")) -> None:
        """Run tasks: claim jobs, run them on N threads, report results; heartbeats keep it registered."""
        _run_roles(["worker"], config, log_level, threads=threads, worker_group=worker_group)

    @server_app.command("scheduler")
    def scheduler(config: str | None = CONFIG, log_level: str = LOG_LEVEL) -> None:
        """Fire Schedule and Flow triggers (one scheduler is active at a time; others stand by)."""
        _run_roles(["scheduler"], config, log_level)

    @server_app.command("webserver")
    def webserver(config: str | None = CONFIG, log_level: str = LOG_LEVEL,
                  port: int = typer.Option(8080, "--port", "-p"), host: str = typer.Option("127.0.0.1", "--host"),
                  user: str | None = typer.Option(None, "--user"),
                  password: str | None = typer.Option(None, "--password", envvar="LANNER_BASIC_AUTH_PASSWORD")) -> None:
        """The REST API and web UI; executions are queued for the executors."""
        _serve(["webserver"], config, log_level, port, host, user, password)

    @server_app.command("standalone")
    def standalone(config: str | None = CONFIG, log_level: str = LOG_LEVEL,
                   port: int = typer.Option(8080, "--port", "-p"), host: str = typer.Option("127.0.0.1", "--host"),
                   user: str | None = typer.Option(None, "--user"),
                   password: str | None = typer.Option(None, "--password", envvar="LANNER_BASIC_AUTH_PASSWORD"),
                   threads: int | None = typer.Option(None, "--threads", help="Worker threads (default 16)."),
                   worker_group: str | None = typer.Option(None, "--worker-group")) -> None:
        """Every role in one process against the configured database (PostgreSQL or SQLite)."""
        _serve(["executor", "worker", "scheduler", "webserver"], config, log_level, port, host, user, password,
               threads=threads, worker_group=worker_group)


def _serve(names: list[str], config: str | None, level: str, port: int, host: str, user: str | None,
           password: str | None, **overrides: Any) -> None:
    from lanner.errors import LannerError
    from lanner.server.settings import ServerSettings

    _logging(level)
    try:
        settings = ServerSettings.from_command_line(host, port, user, password)
    except LannerError as exc:
        _fail(exc.render())
        return
    cluster_settings = _settings(config, **overrides)
    from lanner.runtime.roles import Roles
    from lanner.server.app import build_app
    from lanner.server.services import Services
    from lanner.server.serving import serve

    roles = Roles(cluster_settings, names)
    try:
        app = build_app(settings, Services(settings, cluster=roles))
    except LannerError as exc:
        _fail(exc.render())
        return
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(f"Lanner {' + '.join(names)} on http://{shown}:{port}/ui/ (API http://{shown}:{port}/api/v1)\n")
    sys.stderr.flush()
    if serve(app, host, port, "warning", graceful=lambda: _say_stopping(names, cluster_settings),
             hard=lambda: _stop_now(names, roles)):
        end_leftovers()


@db_app.command("upgrade")
def upgrade(config: str | None = CONFIG) -> None:
    """Create or upgrade the schema of the configured database (servers also do it at start)."""
    from lanner.runtime.roles import redacted
    from lanner.storage import cluster_db

    settings = _settings(config)
    try:
        before, after = cluster_db.upgrade(settings.database_url)
    except Exception as exc:  # noqa: BLE001 - the driver's message says what is wrong (auth, host, …)
        _fail(f"could not upgrade {redacted(settings.database_url)}: {exc}")
        return
    where = redacted(settings.database_url)
    if before == after:
        sys.stdout.write(f"{where}: schema already at revision {after}\n")
    else:
        sys.stdout.write(f"{where}: schema upgraded from {before or 'empty'} to revision {after}\n")
