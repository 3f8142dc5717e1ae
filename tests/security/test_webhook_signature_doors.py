"""Attacks on a Webhook trigger with a `signature`, on a server with basic auth (where the webhook
route is the one door open without credentials): whoever learned the key still cannot start the
flow with a forged signature, nor replay a genuine signature with a body of their own."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from tests.integration.server.harness import Server

FLOW = """id: signed_door
namespace: company.sigdoor
variables:
  key: door-secret
tasks:
  - {id: t, type: io.kestra.plugin.core.log.Log, message: "{{ trigger.body.amount }}"}
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: leaked-key
    signature: {header: X-Hub-Signature-256, secret: "{{ vars.key }}", prefix: "sha256="}
"""
PATH = "/api/v1/executions/webhook/company.sigdoor/signed_door/leaked-key"


def _sign(body: bytes, secret: bytes = b"door-secret") -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def test_forged_and_replayed_signatures_start_nothing(guarded: Server) -> None:
    guarded.deploy(FLOW)
    genuine = b'{"amount": 10}'
    hostile = b'{"amount": 1000000}'
    attacks = [
        (hostile, {}),  # the key alone
        (hostile, {"X-Hub-Signature-256": _sign(hostile, b"guess")}),  # forged with a guessed secret
        (hostile, {"X-Hub-Signature-256": _sign(genuine)}),  # a genuine signature replayed with another body
        (genuine + b" ", {"X-Hub-Signature-256": _sign(genuine)}),  # the same JSON, one byte more
        (hostile, {"X-Hub-Signature-256": "sha256=" + "0" * 64}),
        (hostile, {"X-Hub-Signature-256": ("sha256=" + "\u00e9" * 64).encode("latin-1")}),  # not hex, not ASCII
        (hostile, {"X-Hub-Signature-256": "sha256=" + "a" * 100_000}),  # an oversized header value
    ]
    for body, headers in attacks:
        try:
            r = httpx.post(guarded.url + PATH, content=body, headers=headers, timeout=30)
        except httpx.HTTPError:  # the server may drop a header it finds too large: still nothing started
            continue
        assert r.status_code in (401, 431), (str(headers)[:60], r.status_code, r.text)
    assert guarded.executions(flowId="signed_door") == []
    r = httpx.post(guarded.url + PATH, content=genuine, headers={"X-Hub-Signature-256": _sign(genuine)}, timeout=30)
    assert r.status_code == 200, r.text
    assert len(guarded.executions(flowId="signed_door")) == 1
    assert guarded.proc is not None and guarded.proc.poll() is None  # every attack failed only its own request
