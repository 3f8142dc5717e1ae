"""`lanner server …`: run the API, the web UI, the executor, the workers and the scheduler.

FastAPI and uvicorn are imported inside the commands, so `lanner run` never pays for them.
"""

from __future__ import annotations

import os
import sys

import typer

server_app = typer.Typer(no_args_is_help=True, help="Run Lanner as a server: REST API, web UI and triggers.")


def _fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(2)


@server_app.command("local")
def local(
    port: int = typer.Option(8080, "--port", "-p", help="TCP port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (beyond loopback needs basic auth)."),
    user: str | None = typer.Option(None, "--user", help="Basic-auth user (or LANNER_BASIC_AUTH_USER)."),
    password: str | None = typer.Option(None, "--password", envvar="LANNER_BASIC_AUTH_PASSWORD",
                                           help="Basic-auth password (prefer the environment variable).",
                                           show_envvar=True),
    threads: int = typer.Option(16, "--threads", help="Worker threads."),
    log_level: str = typer.Option("warning", "--log-level", help="Server log level (debug, info, warning)."),
) -> None:
    """One process with the embedded SQLite store (under LANNER_HOME), executor, workers, scheduler and webserver.

    Unfinished executions found at start-up resume (their finally blocks still run once).
    """
    import logging

    from lanner.errors import LannerError
    from lanner.server.settings import ServerSettings

    try:
        settings = ServerSettings.from_command_line(host, port, user, password, threads=threads)
    except LannerError as exc:
        _fail(exc.render())
        return
    from lanner.cli.roles import end_leftovers
    from lanner.server.app import build_app
    from lanner.server.services import Services
    from lanner.server.serving import serve

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        services = Services(settings)
        app = build_app(settings, services)
    except LannerError as exc:
        _fail(exc.render())
        return
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(f"Lanner server on http://{shown}:{port}/ui/ (API http://{shown}:{port}/api/v1, "
                     f"store {_store()})\n")
    sys.stderr.flush()

    def graceful() -> None:
        sys.stderr.write(f"stopping: no new task starts; running tasks have {services.stop_grace:g}s to finish, then "
                         "they are cancelled; finally tasks still run (signal again to stop at once, skipping "
                         "cleanup)\n")
        sys.stderr.flush()

    def hard() -> None:
        sys.stderr.write("stopping now: running tasks are stopped, cleanup is skipped; each execution's notes say "
                         "which finally tasks did not run (signal again to exit at once)\n")
        sys.stderr.flush()
        services.runtime.kill(hard=True)

    if serve(app, host, port, log_level.lower(), graceful=graceful, hard=hard):
        end_leftovers()


def _store() -> str:
    """Where the store is, fit to print: a database URL loses its password (it often holds one)."""
    from lanner.runtime.roles import redacted

    url = os.environ.get("LANNER_DATABASE_URL")
    return redacted(url) if url else "LANNER_HOME"


@server_app.command("hash-password")
def hash_password(password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True)) -> None:
    """Print a scrypt hash for LANNER_BASIC_AUTH_PASSWORD_HASH (so the password itself is stored nowhere)."""
    from lanner.server.settings import hash_password as make

    sys.stdout.write(make(password) + "\n")


__import__("lanner.cli.roles", fromlist=["register"]).register(server_app)  # executor, worker, … (cluster roles)
