"""A Webhook trigger with a `signature`, through a real server process: a call signed with the
flow's secret starts one execution; an unsigned or badly signed one is answered 401 and starts none."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator

import pytest

from tests.forkserver import ForkServer
from tests.integration.server.harness import Server, wait_for

# Kestra's own test flow `webhook-signature`, written again here: GitHub's header and prefix.
SIGNED = """id: webhook-signature
namespace: company.signed
variables:
  signingSecret: test-secret
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "Verified {{ trigger.body.action }}"
triggers:
  - id: webhook
    type: io.kestra.plugin.core.trigger.Webhook
    key: testkey
    signature:
      header: X-Hub-Signature-256
      secret: "{{ vars.signingSecret }}"
      prefix: sha256=
"""
FROM_SECRET = """id: from-secret
namespace: company.signed
tasks:
  - {id: log, type: io.kestra.plugin.core.log.Log, message: ok}
triggers:
  - id: webhook
    type: io.kestra.plugin.core.trigger.Webhook
    key: otherkey
    signature: {header: X-Signature, secret: "{{ secret('HOOK_SIGNING') }}", algorithm: SHA512}
"""
URL = "/executions/webhook/company.signed/webhook-signature/testkey"
BODY = b'{"action":"opened","number":1}'


def sign(body: bytes, secret: bytes = b"test-secret") -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, forks: ForkServer) -> Iterator[Server]:
    env = {"SECRET_HOOK_SIGNING": base64.b64encode(b"kept-in-env").decode()}
    srv = Server(tmp_path_factory.mktemp("signed") / "home", env=env, forks=forks).start()
    srv.deploy(SIGNED)
    srv.deploy(FROM_SECRET)
    yield srv
    srv.stop()


def _post(srv: Server, body: bytes, headers: dict[str, str], url: str = URL) -> tuple[int, str]:
    r = srv.client.post(url, content=body, headers={"Content-Type": "application/json", **headers})
    return r.status_code, r.text


def test_a_call_signed_with_the_flow_secret_starts_one_execution(signed: Server) -> None:
    r = signed.client.post(URL, content=BODY, headers={"X-Hub-Signature-256": sign(BODY)})
    assert r.status_code == 200, r.text
    done = signed.wait_state(r.json()["id"])
    assert done["state"]["current"] == "SUCCESS"
    assert done["trigger"]["variables"]["body"] == {"action": "opened", "number": 1}
    assert [e["id"] for e in signed.executions(flowId="webhook-signature")] == [done["id"]]


def test_unsigned_or_badly_signed_calls_start_nothing(signed: Server) -> None:
    before = len(signed.executions(flowId="webhook-signature"))
    attempts = [
        {},
        {"X-Hub-Signature-256": sign(BODY, b"guessed-secret")},
        {"X-Hub-Signature-256": sign(b'{"action":"closed"}')},
        {"X-Hub-Signature-256": sign(BODY)[len("sha256="):]},
        {"X-Hub-Signature-256": "sha256="},
    ]
    for headers in attempts:
        status, text = _post(signed, BODY, headers)
        assert status == 401, (headers, status, text)
        assert "X-Hub-Signature-256" in text
    # The key is checked first: a wrong key is still "not found", signed or not.
    assert _post(signed, BODY, {"X-Hub-Signature-256": sign(BODY)},
                 URL.replace("testkey", "nokey"))[0] == 404
    assert len(signed.executions(flowId="webhook-signature")) == before


def test_a_secret_from_the_secret_function_signs_with_sha512(signed: Server) -> None:
    url = "/executions/webhook/company.signed/from-secret/otherkey"
    good = hmac.new(b"kept-in-env", BODY, hashlib.sha512).hexdigest()
    assert _post(signed, BODY, {"X-Signature": good}, url)[0] == 200
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert _post(signed, BODY, {"X-Signature": forged}, url)[0] == 401
    wait_for(lambda: len(signed.executions(flowId="from-secret")) == 1)


def test_the_secret_never_reaches_the_answer(signed: Server) -> None:
    status, text = _post(signed, BODY, {"X-Hub-Signature-256": sign(BODY, b"x")})
    assert status == 401 and "test-secret" not in text and sign(BODY) not in text
