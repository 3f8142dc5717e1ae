"""How the server is configured: address, basic auth, request bounds, the names it answers to.

Basic auth is mandatory as soon as the server listens beyond loopback: an orchestrator runs
arbitrary commands, so an open port on a network is a remote shell. The password is kept only
as a salted scrypt hash; a verified Authorization header is remembered by its SHA-256 so that
each request does not pay scrypt's deliberate cost.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import ipaddress
import os
import secrets
import threading
from typing import Any

from lanner.errors import LannerError

DEFAULT_MAX_BODY = 10 * 1024 * 1024
DEFAULT_MAX_YAML = 2 * 1024 * 1024
DEFAULT_MAX_UPLOAD = 100 * 1024 * 1024
DEFAULT_AUTH_FAILURES = 5
DEFAULT_AUTH_LOCKOUT = 60
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$<salt>$<hash>` (base64), to store in LANNER_BASIC_AUTH_PASSWORD_HASH."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, digest = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    computed = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=len(digest), **_SCRYPT)
    return hmac.compare_digest(computed, digest)


class BasicAuth:
    """One configured user; checks `Authorization: Basic …` headers."""

    def __init__(self, user: str, password_hash: str) -> None:
        self.user = user
        self.password_hash = password_hash
        self._verified: set[bytes] = set()
        self._lock = threading.Lock()

    def known(self, header: str) -> bool:
        """Whether this exact header was verified before (cheap: no scrypt)."""
        return hashlib.sha256(header.encode("utf-8", "replace")).digest() in self._verified

    def check(self, header: str | None) -> bool:
        """Verify a header (scrypt: slow on purpose, so callers run it off the event loop)."""
        if not header or not header.lower().startswith("basic "):
            return False
        key = hashlib.sha256(header.encode("utf-8", "replace")).digest()
        if key in self._verified:
            return True
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        ok = hmac.compare_digest(user.encode(), self.user.encode()) & verify_password(password, self.password_hash)
        if ok:
            with self._lock:
                if len(self._verified) > 64:
                    self._verified.clear()
                self._verified.add(key)
        return ok


@dataclasses.dataclass(slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    auth: BasicAuth | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_yaml_bytes: int = DEFAULT_MAX_YAML
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    threads: int = 16
    allowed_hosts: tuple[str, ...] = ()  # beyond the loopback names and the bound address; "*" = any
    allowed_origins: tuple[str, ...] = ()  # beyond the server's own origin, e.g. https://lanner.example
    auth_max_failures: int = DEFAULT_AUTH_FAILURES
    auth_lockout_seconds: int = DEFAULT_AUTH_LOCKOUT

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @classmethod
    def from_command_line(cls, host: str, port: int, user: str | None, password: str | None,
                          **extra: Any) -> ServerSettings:
        """The settings a `lanner server …` command asked for (bounds from the environment), checked."""
        settings = cls(host=host, port=port, auth=auth_from(user, password),
                       max_body_bytes=int_env("LANNER_MAX_BODY_BYTES", DEFAULT_MAX_BODY),
                       max_yaml_bytes=int_env("LANNER_MAX_YAML_BYTES", DEFAULT_MAX_YAML),
                       max_upload_bytes=int_env("LANNER_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD),
                       allowed_hosts=list_env("LANNER_ALLOWED_HOSTS"),
                       allowed_origins=tuple(o.rstrip("/") for o in list_env("LANNER_ALLOWED_ORIGINS")),
                       auth_max_failures=int_env("LANNER_AUTH_MAX_FAILURES", DEFAULT_AUTH_FAILURES),
                       auth_lockout_seconds=int_env("LANNER_AUTH_LOCKOUT_SECONDS", DEFAULT_AUTH_LOCKOUT), **extra)
        settings.check()
        return settings

    def host_allowed(self, host: str) -> bool:
        """Whether a request's `Host` (without port) names this server: loopback names, the bound
        address, or a configured name. Anything else is DNS rebinding or a misdirected request."""
        host = host.strip("[]").lower().rstrip(".")
        if "*" in self.allowed_hosts or host in LOOPBACK_NAMES:
            return True
        if host == self.host.strip("[]").lower() and not _wildcard(self.host):
            return True
        return any(host == name or (name.startswith(".") and host.endswith(name)) for name in self.allowed_hosts)

    def check(self) -> None:
        """Refuse an unsafe configuration with a message that says what to do."""
        for name, value in (("LANNER_MAX_BODY_BYTES", self.max_body_bytes), ("LANNER_MAX_YAML_BYTES",
                            self.max_yaml_bytes), ("LANNER_MAX_UPLOAD_BYTES", self.max_upload_bytes),
                            ("LANNER_AUTH_MAX_FAILURES", self.auth_max_failures),
                            ("LANNER_AUTH_LOCKOUT_SECONDS", self.auth_lockout_seconds)):
            if value < 1:
                raise LannerError(f"{name}={value} must be at least 1", hint=f"unset {name} to use the default")
        for origin in self.allowed_origins:
            if "://" not in origin or origin.count("/") != 2:
                raise LannerError(f"LANNER_ALLOWED_ORIGINS: `{origin}` is not an origin",
                                  hint="give scheme://host[:port] without a path, e.g. https://lanner.example")
        if not self.loopback and self.auth is None:
            raise LannerError(
                f"refusing to listen on {self.host} without authentication: anyone who can reach this port "
                "could run commands on this machine",
                hint="set LANNER_BASIC_AUTH_USER and LANNER_BASIC_AUTH_PASSWORD (or "
                     "LANNER_BASIC_AUTH_PASSWORD_HASH from `lanner server hash-password`), or use --host 127.0.0.1")


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _wildcard(host: str) -> bool:
    return host.strip("[]") in ("0.0.0.0", "::", "")


def list_env(name: str) -> tuple[str, ...]:
    """A comma-separated environment variable as lower-case items."""
    return tuple(item.strip().lower() for item in os.environ.get(name, "").split(",") if item.strip())


def auth_from(user: str | None = None, password: str | None = None) -> BasicAuth | None:
    """Basic auth from flags, else LANNER_BASIC_AUTH_USER with _PASSWORD or _PASSWORD_HASH."""
    user = user or os.environ.get("LANNER_BASIC_AUTH_USER")
    password = password or os.environ.get("LANNER_BASIC_AUTH_PASSWORD")
    stored = os.environ.get("LANNER_BASIC_AUTH_PASSWORD_HASH")
    if not user:
        if password or stored:
            raise LannerError("a basic-auth password is set but no user", hint="set LANNER_BASIC_AUTH_USER too")
        return None
    if password:
        return BasicAuth(user, hash_password(password))
    if stored:
        if not stored.startswith("scrypt$"):
            raise LannerError("LANNER_BASIC_AUTH_PASSWORD_HASH is not a scrypt hash",
                              hint="make one with `lanner server hash-password`")
        return BasicAuth(user, stored)
    raise LannerError(f"basic-auth user `{user}` has no password",
                      hint="set LANNER_BASIC_AUTH_PASSWORD or LANNER_BASIC_AUTH_PASSWORD_HASH")


def int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise LannerError(f"{name}=`{raw}` is not a number", hint=f"give a byte count, e.g. {default}") from None
