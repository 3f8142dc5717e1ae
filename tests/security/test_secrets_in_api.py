"""Attack 7 of issue 11, the server's half: values of secret() and SECRET inputs never come back
in clear through the API (task outputs, flow outputs, inputs, search, logs, server-sent events),
while the tasks themselves still see the real values."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from tests.forkserver import ForkServer
from tests.integration.server.harness import Server

TOKEN, PIN = "tok-3f9a-very-secret", "4711-pin-value"
FLOW = """id: leaky
namespace: company.secrets
inputs:
  - {id: pin, type: SECRET}
tasks:
  - id: ret
    type: io.kestra.plugin.core.debug.Return
    format: "token={{ secret('API_TOKEN') }} pin={{ inputs.pin }}"
  - id: size
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.ret.value | length }}"
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.ret.value }}"
outputs:
  - {id: leaked, type: STRING, value: "{{ outputs.ret.value }}"}
"""


@pytest.fixture(scope="module")
def with_secret(tmp_path_factory: pytest.TempPathFactory, forks: ForkServer) -> Iterator[Server]:
    env = {"SECRET_API_TOKEN": base64.b64encode(TOKEN.encode()).decode()}
    srv = Server(tmp_path_factory.mktemp("sec-secrets") / "home", env=env, forks=forks).start()
    yield srv
    srv.stop()


def test_secret_values_are_masked_in_every_answer_but_real_inside_the_run(with_secret: Server) -> None:
    srv = with_secret
    srv.deploy(FLOW)
    exe = srv.run("company.secrets", "leaky", {"pin": PIN})
    assert exe["state"]["current"] == "SUCCESS", exe
    runs = {r["taskId"]: r for r in exe["taskRunList"]}
    assert runs["ret"]["outputs"]["value"] == "token=****** pin=******"
    assert runs["size"]["outputs"]["value"] == str(len(f"token={TOKEN} pin={PIN}"))  # tasks saw the real values
    assert exe["outputs"]["leaked"] == "token=****** pin=******" and exe["inputs"]["pin"] == "******"
    answers = [srv.client.get(f"/executions/{exe['id']}").text,
               srv.client.get("/executions/search", params={"namespace": "company.secrets"}).text,
               srv.client.get(f"/logs/{exe['id']}").text, srv.client.get(f"/logs/{exe['id']}/download").text]
    with srv.client.stream("GET", f"/executions/{exe['id']}/follow") as events:
        answers.append(next(events.iter_text()))
    for text in answers:
        assert TOKEN not in text and PIN not in text
    assert "token=****** pin=******" in answers[3]


def test_a_webhook_returning_outputs_masks_them_too(with_secret: Server) -> None:
    srv = with_secret
    srv.deploy("""id: hook_out
namespace: company.secrets
tasks:
  - {id: ret, type: io.kestra.plugin.core.debug.Return, format: "{{ secret('API_TOKEN') }}"}
outputs:
  - {id: o, type: STRING, value: "{{ outputs.ret.value }}"}
triggers:
  - {id: w, type: io.kestra.plugin.core.trigger.Webhook, key: k, wait: true, returnOutputs: true}
""")
    r = httpx.post(srv.url + "/api/v1/executions/webhook/company.secrets/hook_out/k", timeout=30)
    assert r.status_code == 200 and r.json() == {"o": "******"}, r.text
