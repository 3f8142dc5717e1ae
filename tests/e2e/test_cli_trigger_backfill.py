"""`lanner trigger backfill` against a real server: started with inputs and labels, shown, paused,
unpaused, deleted; a refused request and a server that does not answer are one line each, exit 2."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli
from tests.integration.server.harness import Server, free_port, wait_for

FLOW = """id: cli_bf
namespace: company.clibf
inputs:
  - {id: region, type: STRING, defaults: none}
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: "{{ inputs.region }}"}
triggers:
  - {id: every_minute, type: io.kestra.plugin.core.trigger.Schedule, cron: "* * * * *"}
"""
TRIGGER = ("company.clibf", "cli_bf", "every_minute")


def backfilled(server: Server) -> list[dict[str, Any]]:
    """The executions the backfill started (labelled by it; the live schedule fires beside it)."""
    return [e for e in server.executions(flowId="cli_bf") if {"key": "reason", "value": "outage"} in e["labels"]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("cli-bf") / "home").start()
    srv.deploy(FLOW)
    yield srv
    srv.stop()


def test_a_backfill_is_started_shown_paused_unpaused_and_deleted_from_the_cli(server: Server, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home")
    cli.env["LANNER_SERVER_URL"] = server.url
    start = (dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=2)).isoformat()
    end = (dt.datetime.fromisoformat(start) + dt.timedelta(minutes=29)).isoformat()
    started = cli("trigger", "backfill", *TRIGGER, "--start", start, "--end", end, "-i", "region=eu",
                  "-l", "reason:outage", "--paused")
    assert started.returncode == 0, started.stderr
    assert "backfill of company.clibf.cli_bf/every_minute: paused, 0 / 30 dates started" in started.stdout
    assert "running, " in cli("trigger", "backfill", *TRIGGER, "--unpause").stdout
    wait_for(lambda: len(backfilled(server)) >= 2, timeout=30)
    assert "paused, " in cli("trigger", "backfill", *TRIGGER, "--pause").stdout
    shown = cli("trigger", "backfill", *TRIGGER)
    assert shown.returncode == 0 and "paused, " in shown.stdout and "/ 30 dates started" in shown.stdout
    deleted = cli("trigger", "backfill", *TRIGGER, "--delete")
    assert deleted.returncode == 0 and "the last one was deleted after" in deleted.stdout
    exes = backfilled(server)
    assert exes and all(e["inputs"] == {"region": "eu"} for e in exes)


def test_refusals_are_one_line_with_what_to_do(server: Server, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home")
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    refused = cli("trigger", "backfill", *TRIGGER, "--start", future, "--server", server.url)
    assert refused.returncode == 2 and refused.stderr.startswith("error: backfill start ")
    assert "is in the future (HTTP 422); a backfill runs past dates" in refused.stderr
    assert "Traceback" not in refused.stderr
    nobody = cli("trigger", "backfill", *TRIGGER, "--pause", "--server", f"http://127.0.0.1:{free_port()}")
    assert nobody.returncode == 2 and "no Lanner server answers at" in nobody.stderr
    both = cli("trigger", "backfill", *TRIGGER, "--pause", "--delete", "--server", server.url)
    assert both.returncode == 2 and "give one of --start, --pause, --unpause, --delete" in both.stderr
    missing = cli("trigger", "backfill", "company.clibf", "cli_bf", "nope", "--server", server.url)
    assert missing.returncode == 2 and "trigger `nope` of flow `company.clibf.cli_bf` was not found" in missing.stderr
