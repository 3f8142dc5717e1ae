"""A Webhook's `signature`: read as Kestra writes it, refused at its line when malformed, and
checked as an HMAC of the raw body that a forged, missing or replayed signature does not pass."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from lanner.loading.flows import load_flow
from lanner.model.flow import Flow
from lanner.runtime import triggers
from lanner.runtime.webhook_signature import WebhookSignatureRejected, verify

HEAD = ("id: f\nnamespace: company.team\nvariables:\n  signingSecret: test-secret\n"
        "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: x}\ntriggers:\n")
BODY = b'{"action": "opened"}'


def _flow(signature: str) -> Flow:
    return load_flow(HEAD + "  - id: w\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: k\n"
                     "    signature:\n" + signature, file="f.yaml")


def _spec(flow: Flow) -> triggers.WebhookSpec:
    spec = triggers.parse(flow.triggers[0])
    assert isinstance(spec, triggers.WebhookSpec) and spec.signature is not None
    return spec


def _github(secret: bytes, body: bytes, digest: str = "sha256") -> str:
    return f"{digest}=" + hmac.new(secret, body, getattr(hashlib, digest)).hexdigest()


GITHUB = "      header: X-Hub-Signature-256\n      secret: \"{{ vars.signingSecret }}\"\n      prefix: sha256=\n"


def test_kestra_signature_block_is_valid_and_defaults_to_sha256() -> None:
    flow = _flow(GITHUB)
    assert triggers.validate(flow) == []
    sig = _spec(flow).signature
    assert sig is not None and (sig.header, sig.prefix, sig.algorithm) == ("X-Hub-Signature-256", "sha256=", "SHA256")


@pytest.mark.parametrize(("block", "expected"), [
    ("      header: X-Sig\n      secret: s\n      encoding: base64\n",
     "f.yaml:14:7: triggers[0] (w): unknown property `signature.encoding` of `Webhook`"),
    ("      header: X-Sig\n",
     "f.yaml:11:5: triggers[0] (w): missing required property `signature.secret` of `Webhook`"),
    ("      header: X-Sig\n      secret: s\n      algorithm: MD5\n",
     "f.yaml:14:7: triggers[0] (w): `signature.algorithm`: Input should be 'SHA1', 'SHA256' or 'SHA512'"),
    ("      header: 'X Sig'\n      secret: s\n",
     "f.yaml:12:7: triggers[0] (w): `signature.header`: String should match pattern"),
])
def test_a_malformed_signature_is_refused_at_its_line(block: str, expected: str) -> None:
    problems = [p.render() for p in triggers.validate(_flow(block))]
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_a_github_style_signature_of_the_raw_body_passes() -> None:
    flow = _flow(GITHUB)
    spec = _spec(flow)
    assert spec.signature is not None
    verify(spec.signature, flow, "w", BODY, {"x-hub-signature-256": [_github(b"test-secret", BODY)]})
    upper = "sha256=" + hmac.new(b"test-secret", BODY, hashlib.sha256).hexdigest().upper()
    verify(spec.signature, flow, "w", BODY, {"x-hub-signature-256": [upper]})  # hex digits in either case


@pytest.mark.parametrize(("headers", "said"), [
    ({}, "has no `X-Hub-Signature-256` header"),
    ({"x-hub-signature-256": [_github(b"wrong-secret", BODY)]}, "not a valid signature"),
    ({"x-hub-signature-256": [_github(b"test-secret", b'{"action": "closed"}')]}, "not a valid signature"),
    ({"x-hub-signature-256": [_github(b"test-secret", BODY)[len("sha256="):]]}, "not a valid signature"),
    ({"x-hub-signature-256": [_github(b"test-secret", BODY, "sha1")]}, "not a valid signature"),
    ({"x-hub-signature-256": ["sha256=", "sha256=00"]}, "has 2 `X-Hub-Signature-256` headers"),
    ({"x-hub-signature-256": ["sha256=é" + "0" * 63]}, "not a valid signature"),
])
def test_a_missing_forged_or_replayed_signature_is_rejected(headers: dict[str, list[str]], said: str) -> None:
    flow = _flow(GITHUB)
    spec = _spec(flow)
    assert spec.signature is not None
    with pytest.raises(WebhookSignatureRejected, match=said):
        verify(spec.signature, flow, "w", BODY, headers)


def test_sha512_without_prefix_and_a_secret_from_the_secret_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_HOOK_KEY", base64.b64encode(b"from-env").decode())
    flow = _flow("      header: X-Signature\n      secret: \"{{ secret('HOOK_KEY') }}\"\n      algorithm: sha512\n")
    spec = _spec(flow)
    assert spec.signature is not None and spec.signature.algorithm == "SHA512"
    good = hmac.new(b"from-env", BODY, hashlib.sha512).hexdigest()
    verify(spec.signature, flow, "w", BODY, {"x-signature": [good]})
    with pytest.raises(WebhookSignatureRejected):
        verify(spec.signature, flow, "w", BODY + b" ", {"x-signature": [good]})


def test_a_secret_that_cannot_be_rendered_rejects_the_call_without_saying_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_MISSING_ONE", raising=False)
    flow = _flow("      header: X-Signature\n      secret: \"{{ secret('MISSING_ONE') }}\"\n")
    spec = _spec(flow)
    assert spec.signature is not None
    with pytest.raises(WebhookSignatureRejected, match="could not be checked; see the server's log"):
        verify(spec.signature, flow, "w", BODY, {"x-signature": ["00"]})
