"""Secrets, Kestra open-source style: environment variables `SECRET_<NAME>`, base64-encoded.

Below every room (it depends only on `errors`): templates (`secret()`), workers, the server and
the CLI (which mask the values) all read secrets the same way."""

from __future__ import annotations

import base64
import binascii
import os

from lanner.errors import LannerError


def secret(name: str) -> str:
    key = f"SECRET_{name}"
    raw = os.environ.get(key)
    if raw is None:
        raise LannerError(f"secret `{name}` is not set", hint=f"set the environment variable {key} to its base64 value")
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise LannerError(f"secret `{name}`: {key} is not valid base64",
                          hint=f"set it with: export {key}=$(printf %s 'value' | base64)") from None


def available_values() -> tuple[str, ...]:
    """Every secret value this process could hand to `secret()`: what the CLI masks in what it prints.

    The CLI cannot know which of them a task read (that happened in worker threads, maybe in an
    earlier process for `execution show`), so it masks them all; a value that is not valid base64
    cannot be read by `secret()` and is skipped.
    """
    values: list[str] = []
    for key, raw in os.environ.items():
        if key.startswith("SECRET_"):
            try:
                value = base64.b64decode(raw, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
            if value:
                values.append(value)
    return tuple(values)
