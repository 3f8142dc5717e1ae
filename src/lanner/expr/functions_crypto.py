"""`encrypt(key, plaintext)` and `decrypt(key, encrypted)`, compatible with Kestra's.

Kestra encrypts with AES-GCM: the key is base64 text (16, 24 or 32 bytes once decoded), a random
12-byte nonce is written before the ciphertext and its 16-byte tag, and the whole is base64
text. Keeping that layout means a value encrypted by a Kestra flow decrypts here, and back.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from lanner.expr.arguments import ABSENT, expect_str, fail
from lanner.expr.env import Env

_NONCE = 12
_KEY_HINT = "pass the key as base64 text of 16, 24 or 32 bytes, e.g. from secret('ENCRYPTION_KEY')"


def _cipher(where: str, key: Any) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    text = expect_str(where, "key", key, hint=_KEY_HINT)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        fail(where, "the key is not base64 text", hint=_KEY_HINT)
    if len(raw) not in (16, 24, 32):
        fail(where, f"the key is {len(raw)} bytes long once decoded; AES needs 16, 24 or 32", hint=_KEY_HINT)
    return AESGCM(raw)


def _both(where: str, key: Any, value: Any, name: str) -> None:
    if key is ABSENT or value is ABSENT:
        fail(where, f"expects two arguments, 'key' and '{name}'", hint=f"write {where}(key, {name})")


def encrypt(env: Env, key: Any = ABSENT, plaintext: Any = ABSENT) -> str:
    """The text encrypted with the key, as base64 text (a new nonce each call)."""
    _both("encrypt", key, plaintext, "plaintext")
    cipher = _cipher("encrypt", key)
    data = expect_str("encrypt", "plaintext", plaintext).encode("utf-8")
    nonce = secrets.token_bytes(_NONCE)
    return base64.b64encode(nonce + cipher.encrypt(nonce, data, None)).decode("ascii")


def decrypt(env: Env, key: Any = ABSENT, encrypted: Any = ABSENT) -> str:
    """The text `encrypt` was given, from its output and the same key."""
    from cryptography.exceptions import InvalidTag

    _both("decrypt", key, encrypted, "encrypted")
    cipher = _cipher("decrypt", key)
    text = expect_str("decrypt", "encrypted", encrypted)
    try:
        raw = base64.b64decode(text, validate=True)
        return str(cipher.decrypt(raw[:_NONCE], raw[_NONCE:], None).decode("utf-8"))
    except (binascii.Error, ValueError, InvalidTag):
        fail("decrypt", "the value cannot be decrypted with this key",
             hint="pass the output of encrypt() and the key it was made with")
