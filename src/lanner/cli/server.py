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
    import uvicorn

    from lanner.server.app import build_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = build_app(settings)
    except LannerError as exc:
        _fail(exc.render())
        return
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(f"Lanner server on http://{shown}:{port}/ui/ (API http://{shown}:{port}/api/v1, "
                     f"store {os.environ.get('LANNER_DATABASE_URL') or 'LANNER_HOME'})\n")
    sys.stderr.flush()
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=False,
                timeout_graceful_shutdown=5)


@server_app.command("hash-password")
def hash_password(password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True)) -> None:
    """Print a scrypt hash for LANNER_BASIC_AUTH_PASSWORD_HASH (so the password itself is stored nowhere)."""
    from lanner.server.settings import hash_password as make

    sys.stdout.write(make(password) + "\n")


__import__("lanner.cli.roles", fromlist=["register"]).register(server_app)  # executor, worker, … (cluster roles)
