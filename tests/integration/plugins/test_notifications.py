"""Chat notifications post JSON to a real local webhook server, as the docs' afterExecution examples do."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lanner.model.state import StateType
from tests.conftest import logs_of, run_flow


class Hook(BaseHTTPRequestHandler):
    received: list[tuple[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Hook.received.append((self.path, json.loads(body)))
        status = 500 if self.path.endswith("/broken") else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"invalid_token")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_after_execution_sends_the_message_matching_the_final_state(tmp_path: Path, hook: str) -> None:
    exe = run_flow(f"""
id: alerts_demo
namespace: company.team
tasks:
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
afterExecution:
  - id: onSuccess
    runIf: "{{{{ execution.state == 'SUCCESS' }}}}"
    type: io.kestra.plugin.slack.SlackIncomingWebhook
    url: {hook}/services/ok
    messageText: "{{{{ flow.namespace }}}}.{{{{ flow.id }}}} finished successfully!"
  - id: onFailure
    runIf: "{{{{ execution.state == 'FAILED' }}}}"
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: {hook}/services/ok
    payload: |
      {{"text": "Oh no, {{{{ flow.namespace }}}}.{{{{ flow.id }}}} failed!!!"}}
""", tmp_path)
    states = {r.task_id: r.current for r in exe.task_runs}
    assert exe.state.current is StateType.FAILED
    assert states == {"fail": StateType.FAILED, "onSuccess": StateType.SKIPPED, "onFailure": StateType.SUCCESS}
    assert Hook.received == [("/services/ok", {"text": "Oh no, company.team.alerts_demo failed!!!"})]


def test_an_execution_message_names_the_flow_and_state_and_a_refusal_fails_clearly(tmp_path: Path, hook: str) -> None:
    exe = run_flow(f"""
id: notify
namespace: company.team
tasks:
  - {{id: ok, type: io.kestra.plugin.core.log.Log, message: hi}}
errors:
  - {{id: never, type: io.kestra.plugin.notifications.teams.TeamsExecution, url: "{hook}/x"}}
finally:
  - id: slack
    type: io.kestra.plugin.notifications.slack.SlackExecution
    url: {hook}/hooks
    channel: "#ops"
    customMessage: "cleanup done"
  - id: broken
    type: io.kestra.plugin.notifications.discord.DiscordIncomingWebhook
    url: {hook}/broken
    payload: '{{"content": "x"}}'
    allowFailure: true
""", tmp_path)
    assert exe.state.current is StateType.WARNING  # the failing notification was allowed to fail
    path, message = Hook.received[0]
    assert path == "/hooks" and message["channel"] == "#ops"
    assert message["text"] == f"company.team.notify execution {exe.id}: RUNNING\ncleanup done"
    broken = [line["message"] for line in logs_of(tmp_path, exe.id, "broken")]
    assert any("answered HTTP 500: invalid_token" in line for line in broken)
