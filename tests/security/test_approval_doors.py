"""A waiting Approval can be decided only by the server's own users, from its own page: a web page
elsewhere cannot approve or deny it (cross-site form, text/plain "simple" body, fetch metadata),
and without credentials nobody can; the execution stays PAUSED after each attempt."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.server.harness import Server
from tests.security.conftest import USER

REVIEW = """id: {id}
namespace: company.approval
tasks:
  - id: approval
    type: io.kestra.plugin.core.flow.Approval
    onApprove:
      - {{id: deployed, type: io.kestra.plugin.core.log.Log, message: deployed}}
"""


def _waiting(srv: Server, flow_id: str) -> str:
    srv.deploy(REVIEW.format(id=flow_id))
    exe = srv.run("company.approval", flow_id, wait=False)
    srv.wait_state(exe["id"], {"PAUSED"})
    return str(exe["id"])


@pytest.mark.parametrize("action", ["approve", "deny"])
def test_a_cross_site_page_cannot_decide_an_approval(server: Server, action: str) -> None:
    execution_id = _waiting(server, f"cross_{action}")
    url = f"{server.url}/api/v1/executions/{execution_id}/actions/{action}"
    evil_form = httpx.post(url, data={"comment": "x"}, headers={"Origin": "http://attacker.example"})
    assert evil_form.status_code == 403, evil_form.text
    simple = httpx.post(url, content=b'{"comment": "x"}', headers={"Content-Type": "text/plain"})
    assert simple.status_code == 415, simple.text
    form = httpx.post(url, data={"comment": "x"})
    assert form.status_code == 415, form.text
    fetch_metadata = httpx.post(url, json={}, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch_metadata.status_code == 403
    assert server.client.get(f"/executions/{execution_id}").json()["state"]["current"] == "PAUSED"


@pytest.mark.parametrize("action", ["approve", "deny"])
def test_without_credentials_nobody_decides_an_approval(guarded: Server, action: str) -> None:
    execution_id = _waiting(guarded, f"auth_{action}")
    r = httpx.post(f"{guarded.url}/api/v1/executions/{execution_id}/actions/{action}", json={})
    assert r.status_code == 401, r.text
    shown = guarded.client.get(f"/executions/{execution_id}").json()
    assert shown["state"]["current"] == "PAUSED"
    assert guarded.client.post(f"/executions/{execution_id}/actions/{action}", json={}).status_code == 204
    done = guarded.wait_state(execution_id)
    [approval] = [r for r in done["taskRunList"] if r["taskId"] == "approval"]
    assert approval["outputs"]["by"] == USER  # the signed-in user decided
