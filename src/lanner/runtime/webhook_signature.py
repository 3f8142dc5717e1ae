"""The check of a Webhook trigger's `signature`: an HMAC of the raw request body, in a header.

It runs before anything else the call could cause (conditions, inputs, an execution): a call
that is not signed with the flow's secret starts nothing, whatever its key. The digest is
compared in constant time, so the time an answer takes says nothing of how much of a forged
signature was right.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from typing import Any

from lanner.errors import LannerError
from lanner.model.flow import Flow
from lanner.runtime.triggers import WebhookSignature

log = logging.getLogger("lanner.scheduler")

DIGESTS: dict[str, Callable[[], Any]] = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


class WebhookSignatureRejected(Exception):  # noqa: N818 - an answer to the caller (401), not a fault of Lanner
    """The call carries no valid signature of its body: no execution is started."""


def secret_of(signature: WebhookSignature, flow: Flow) -> bytes:
    """The signing secret, rendered with the flow (`vars`, `flow`, `secret()`), never with the
    call: a secret read from the request would let its sender choose it."""
    from lanner import expr

    context: dict[str, Any] = {"flow": {"id": flow.id, "namespace": flow.namespace, "revision": flow.revision},
                               "vars": dict(flow.variables), "namespace": flow.namespace}
    return expr.render(signature.secret, context).encode("utf-8")


def expected(signature: WebhookSignature, secret: bytes, raw: bytes) -> str:
    """The header value a caller holding `secret` sends for this body: prefix, then hex digest."""
    return signature.prefix + hmac.new(secret, raw, DIGESTS[signature.algorithm]).hexdigest()


def verify(signature: WebhookSignature, flow: Flow, trigger_id: str, raw: bytes,
           headers: Mapping[str, list[str]]) -> None:
    """Raise WebhookSignatureRejected unless `headers` carry exactly one valid signature of `raw`."""
    values = headers.get(signature.header.lower()) or []
    if not values:
        raise WebhookSignatureRejected(f"the call has no `{signature.header}` header; sign the request body "
                                       f"with HMAC-{signature.algorithm} and send it there")
    if len(values) > 1:
        raise WebhookSignatureRejected(f"the call has {len(values)} `{signature.header}` headers; send one")
    try:
        secret = secret_of(signature, flow)
    except LannerError as exc:  # the flow's fault, not the caller's: said in the server's log only
        log.error("trigger %s.%s/%s: signature secret not rendered: %s", flow.namespace, flow.id, trigger_id,
                  exc.message)
        raise WebhookSignatureRejected("the signature could not be checked; see the server's log") from None
    want = expected(signature, secret, raw)
    given = values[0].strip()
    # Hex digits may come in either case; the prefix is compared as written.
    if given.startswith(signature.prefix):
        given = signature.prefix + given[len(signature.prefix):].lower()
    if not hmac.compare_digest(want.encode("latin-1", "replace"), given.encode("latin-1", "replace")):
        raise WebhookSignatureRejected(f"the `{signature.header}` header is not a valid signature of this request "
                                       "body")
