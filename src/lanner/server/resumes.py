"""Who is resuming, as the resume route tells the executor (`outputs.<pause>.resumed.by`)."""

from __future__ import annotations

import base64
import binascii


def resumed_by(authorization: str | None) -> str | None:
    """The user named by the request's Basic credentials (checked by the middleware already), for
    `outputs.<pause>.resumed.by`; None without credentials, as when the server has no users."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        user, _, _ = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user or None
