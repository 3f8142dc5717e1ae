"""Functions that make a new random value each call: `ksuid()`, `nanoId()`, `randomPort()`.

Like `uuid()` and `randomInt()` they keep real randomness wherever they run (see
docs/architecture.md, "The engine's inputs"): calling one is the flow author's request for a
fresh value. Ids come from `secrets`, so they are safe to use as names nobody should guess.
"""

from __future__ import annotations

import secrets
import socket
import time
from typing import Any

from lanner.expr.arguments import check_text, expect_int, expect_str, fail
from lanner.expr.env import Env

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KSUID_EPOCH = 1_400_000_000  # KSUID's own epoch (2014-05-13), so that 32 bits of seconds last until 2150
_NANOID_ALPHABET = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def ksuid(env: Env) -> str:
    """A K-Sortable Unique IDentifier: 27 base62 characters, 4 bytes of seconds then 16 random
    bytes, so that ids made later sort after earlier ones."""
    number = (int(time.time()) - _KSUID_EPOCH) << 128 | secrets.randbits(128)
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits)).rjust(27, "0")


def nanoId(env: Env, length: Any = 21, alphabet: Any = _NANOID_ALPHABET) -> str:  # noqa: N802 - Kestra's name
    """A random id of `length` characters (21 by default) drawn from `alphabet` (URL-safe by default)."""
    size = expect_int("nanoId", "length", length, minimum=1)
    letters = expect_str("nanoId", "alphabet", alphabet, hint="pass the characters to draw from, e.g. 'abc123'")
    if not letters:
        fail("nanoId", "the alphabet is empty", hint="pass at least one character, e.g. '0123456789'")
    check_text("nanoId", " " * size)
    return "".join(secrets.choice(letters) for _ in range(size))


def randomPort(env: Env) -> int:  # noqa: N802
    """A TCP port that was free on this host when asked (the system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        port: int = probe.getsockname()[1]
        return port
