"""`lanner trigger backfill`: start, pause, unpause, delete or show a Schedule's backfill on a
running server, through its API (`PUT /api/v1/triggers` with `backfill`, `…/triggers/backfill/*`).

It talks to the server rather than to the store: the server's scheduler holds the trigger's
state and would not see a backfill written behind its back. The server is `--server`, else
`LANNER_SERVER_URL`, else http://127.0.0.1:8080; with basic auth on, the credentials are
LANNER_BASIC_AUTH_USER and LANNER_BASIC_AUTH_PASSWORD, as the server reads them.
"""

from __future__ import annotations

import os
from typing import Any

import typer

trigger_app = typer.Typer(no_args_is_help=True, help="Triggers: backfill a Schedule on a running server.")
DEFAULT_SERVER = "http://127.0.0.1:8080"
EXIT_INVALID = 2


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_INVALID)


def _labels(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if not sep or not key.strip():
            _fail(f"`--label {pair}` is not KEY:VALUE; write e.g. --label reason:outage")
        out[key.strip()] = value.strip()
    return out


def _call(server: str, method: str, path: str, body: Any, params: dict[str, Any] | None = None) -> dict[str, Any]:
    import httpx

    user, password = os.environ.get("LANNER_BASIC_AUTH_USER"), os.environ.get("LANNER_BASIC_AUTH_PASSWORD")
    try:
        r = httpx.request(method, server.rstrip("/") + "/api/v1" + path, json=body, params=params, timeout=30,
                          auth=(user, password) if user and password else None)
    except httpx.HTTPError as exc:
        _fail(f"no Lanner server answers at {server} ({exc}); start one with `lanner server local`, "
              "or give its address with --server")
    try:
        answer = r.json()
    except ValueError:
        answer = {"message": r.text[:300]}
    if r.status_code >= 400:
        hint = answer.get("hint") if isinstance(answer, dict) else None
        message = answer.get("message") if isinstance(answer, dict) else str(answer)
        _fail(f"{message} (HTTP {r.status_code})" + (f"; {hint}" if hint else ""))
    return dict(answer)


def _say(context: dict[str, Any], key: str) -> None:
    bf, last = context.get("backfill"), context.get("lastBackfill")
    if bf:
        state = "paused" if bf["paused"] else "running"
        typer.echo(f"backfill of {key}: {state}, {bf['fired']} / {bf['total']} dates started "
                   f"({bf['start']} → {bf['end']}; next {bf['currentDate']})")
    elif last:
        typer.echo(f"backfill of {key}: none running; the last one was {last['outcome']} after "
                   f"{last['fired']} / {last['total']} dates ({last['start']} → {last['end']})")
    else:
        typer.echo(f"backfill of {key}: none")


@trigger_app.command("backfill")
def backfill(
    namespace: str = typer.Argument(..., help="The flow's namespace."),
    flow_id: str = typer.Argument(..., help="The flow's id."),
    trigger_id: str = typer.Argument(..., help="The Schedule trigger's id."),
    start: str | None = typer.Option(None, "--start", help="First date, ISO 8601 with offset (2024-05-01T00:00:00Z)."),
    end: str | None = typer.Option(None, "--end", help="Last date (default: now)."),
    inputs: list[str] = typer.Option([], "--input", "-i", help="KEY=VALUE, over the trigger's inputs; repeatable."),
    labels: list[str] = typer.Option([], "--label", "-l", help="KEY:VALUE added to the executions; repeatable."),
    paused: bool = typer.Option(False, "--paused", help="Store it paused (unpause it later)."),
    pause: bool = typer.Option(False, "--pause", help="Pause the running backfill."),
    unpause: bool = typer.Option(False, "--unpause", help="Go on with a paused backfill."),
    delete: bool = typer.Option(False, "--delete", help="Stop it for good (its executions stay)."),
    server: str = typer.Option(os.environ.get("LANNER_SERVER_URL", DEFAULT_SERVER), "--server",
                               help="The server's address (LANNER_SERVER_URL)."),
) -> None:
    """Backfill a Schedule: one execution per past date in [start, end], oldest first. Without
    --start (and without --pause, --unpause, --delete) it shows the backfill's progress."""
    from lanner.errors import LannerError
    from lanner.model.inputs import parse_cli_inputs

    key = {"namespace": namespace, "flowId": flow_id, "triggerId": trigger_id}
    name = f"{namespace}.{flow_id}/{trigger_id}"
    actions = [a for a, on in (("start", start is not None), ("pause", pause), ("unpause", unpause),
                               ("delete", delete)) if on]
    if len(actions) > 1:
        _fail("give one of --start, --pause, --unpause, --delete")
    if not actions:
        found = _call(server, "GET", "/triggers/search", None,
                      {"namespace": namespace, "flowId": flow_id, "size": 1000})
        context = next((r["triggerContext"] for r in found["results"]
                        if r["triggerContext"]["namespace"] == namespace
                        and r["triggerContext"]["triggerId"] == trigger_id), None)
        if context is None:
            _fail(f"trigger `{trigger_id}` of flow `{namespace}.{flow_id}` was not found")
        _say(context or {}, name)
        return
    action = actions[0]
    if action == "start":
        try:
            values = parse_cli_inputs(inputs)
        except LannerError as exc:
            _fail(exc.render())
        body = {"start": start, "end": end, "inputs": values, "labels": _labels(labels), "paused": paused}
        context = _call(server, "PUT", "/triggers", {**key, "backfill": body})
    elif action == "delete":
        context = _call(server, "POST", "/triggers/backfill/delete", key)
    else:
        context = _call(server, "PUT", f"/triggers/backfill/{action}", key)
    _say(context, name)
