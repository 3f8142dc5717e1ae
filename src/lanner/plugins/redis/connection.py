"""The connection every Redis task shares: Kestra's URL forms, and failures told in one sentence.

Kestra's Redis plugin runs on Lettuce, so flows carry Lettuce URLs: `redis://[[user:]password@]
host[:port][/db][?timeout=10s&database=0&clientName=x]`, `rediss://` for TLS and
`redis-socket:///path/to/sock` for a Unix socket (redis-py's `unix://` is accepted too). Lettuce
reads a user-info without a colon (`redis://secret@host`) as a password, not a user name, and so do
we. The password never appears in a message: URLs are printed as `redis://:****@host:6379/0`.

The client speaks RESP2 and authenticates with a plain `AUTH`, as Lettuce does against a server
with `requirepass`: with RESP3's `HELLO … AUTH default <password>` a server without any password
would accept whatever password the URL holds, and a misconfigured URL would go unnoticed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

from pydantic import model_validator

from lanner.plugins.api import RunContext, RunnableTask, TaskFailure
from lanner.plugins.host_names import reachable

DEFAULT_PORT = 6379
CONNECT_TIMEOUT = 10.0  # Lettuce's default connect timeout
COMMAND_TIMEOUT = 60.0  # Lettuce's default command timeout

_TCP_SCHEMES = {"redis": False, "rediss": True, "redis+ssl": True, "redis+tls": True}
_UNIX_SCHEMES = {"redis-socket", "redis+socket", "unix"}
_SENTINEL_SCHEMES = {"redis-sentinel", "rediss-sentinel", "redis+sentinel"}
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^@/?#]*)@")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)
_TIMEOUT = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>d|h|m|s|ms|us|ns)?$", re.IGNORECASE)
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """Where to connect, parsed from the URL; `masked` is the URL to show people."""

    masked: str
    options: dict[str, Any]
    username: str | None
    password: str | None
    where: str  # `host:port` or the socket path, for messages


def mask(url: str) -> str:
    """The URL with its password replaced by `****` (user name and everything else kept)."""
    def hide(m: re.Match[str]) -> str:
        userinfo = m.group("userinfo")
        user, colon, _ = userinfo.partition(":")
        return f"{m.group('scheme')}{user}:****@" if colon else f"{m.group('scheme')}****@"

    return _QUERY_PASSWORD.sub(r"\1****", _USERINFO.sub(hide, url.strip(), count=1))


def _seconds(text: str, url: str) -> float:
    m = _TIMEOUT.match(text.strip())
    if not m:
        raise TaskFailure(f"Invalid `timeout={text}` in the Redis URL {mask(url)}: write a number with a unit, "
                          "such as 10s or 500ms")
    return float(m.group("n")) * _UNITS[(m.group("unit") or "s").lower()]


def parse_url(url: str) -> Target:
    """Connection options for redis-py from a Lettuce (or redis-py) URL."""
    url = url.strip()
    masked = mask(url)
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise TaskFailure(f"Invalid Redis URL `{masked}`: expected redis://[:password@]host[:port][/db]")
    if scheme in _SENTINEL_SCHEMES:
        raise TaskFailure(f"Redis Sentinel URLs are not supported yet ({masked}); give the master's redis:// URL")
    if scheme not in _TCP_SCHEMES and scheme not in _UNIX_SCHEMES:
        raise TaskFailure(f"Invalid Redis URL `{masked}`: unknown scheme `{scheme}://`; use redis://, rediss:// "
                          "or redis-socket://")
    parts = urllib.parse.urlsplit(url)
    query = {k.lower(): v for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)}
    username = password = None
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        user, colon, secret = userinfo.partition(":")
        if colon:
            username, password = urllib.parse.unquote(user) or None, urllib.parse.unquote(secret)
        elif scheme == "unix":
            username = urllib.parse.unquote(user) or None  # redis-py's unix://user@/path form
        else:
            password = urllib.parse.unquote(user)  # Lettuce: user-info without a colon is the password
    password = query.get("password", password) or None
    username = query.get("username", query.get("user", username)) or None
    options: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": COMMAND_TIMEOUT}
    db_text = query.get("database", query.get("db"))
    if scheme in _UNIX_SCHEMES:
        path = urllib.parse.unquote(parts.path)
        if not path:
            raise TaskFailure(f"Invalid Redis URL `{masked}`: no socket path (redis-socket:///path/to/redis.sock)")
        options["unix_socket_path"] = path
        where = path
    else:
        try:
            host, port = parts.hostname, parts.port or DEFAULT_PORT
        except ValueError:
            raise TaskFailure(f"Invalid Redis URL `{masked}`: the port is not a number") from None
        if not host:
            raise TaskFailure(f"Invalid Redis URL `{masked}`: no host name")
        options.update(host=host, port=port, ssl=_TCP_SCHEMES[scheme])
        where = f"{host}:{port}"
        if parts.path.strip("/"):
            db_text = parts.path.strip("/")
        if options["ssl"] and query.get("verifypeer", "").upper() == "NONE":
            options.update(ssl_cert_reqs="none", ssl_check_hostname=False)
    try:
        options["db"] = int(db_text) if db_text not in (None, "") else 0
    except ValueError:
        raise TaskFailure(f"Invalid Redis URL `{masked}`: the database `{db_text}` is not a number") from None
    if query.get("timeout"):
        options["socket_timeout"] = options["socket_connect_timeout"] = _seconds(query["timeout"], url)
    client_name = query.get("clientname", query.get("client_name"))
    if client_name:
        options["client_name"] = client_name
    return Target(masked, options, username, password, where)


def explain(exc: BaseException, target: Target) -> str:
    """One sentence for a redis-py error, with the password masked."""
    import redis

    text = str(exc).strip().rstrip(".")
    if target.password:
        text = text.replace(target.password, "****")
    low = text.lower()
    where = f"Redis at {target.masked}"
    if "without any password configured" in low or "no password is set" in low:
        return (f"Cannot authenticate to {where}: the server has no password set but the URL gives one; "
                "remove the password from the URL, or set `requirepass` on the server")
    if "wrongpass" in low or "invalid password" in low or "invalid username-password" in low:
        who = f"user `{target.username}` or its password" if target.username else "password"
        return f"Cannot authenticate to {where}: the server rejected the {who}; check the password in the URL"
    if "noauth" in low or "authentication required" in low or "hello must be called with the client" in low:
        return (f"Cannot use {where}: the server requires a password and the URL has none; "
                "give it as redis://:PASSWORD@host:port/db")
    if isinstance(exc, redis.exceptions.TimeoutError):
        return f"{where} did not answer in time ({text}); check that the server is reachable and not overloaded"
    if isinstance(exc, redis.exceptions.ConnectionError):
        if "refused" in low:
            reason = "connection refused; is a Redis server running and listening there?"
        elif "name or service not known" in low or "nodename nor servname" in low or "temporary failure in name" in low:
            reason = f"the host name in `{target.where}` cannot be resolved"
        elif "no such file" in low:
            reason = f"there is no socket file at {target.where}"
        else:
            reason = text
        return f"Cannot connect to {where}: {reason}"
    if isinstance(exc, redis.exceptions.ResponseError):
        return f"{where} refused the command: {text}"
    return f"Redis error at {where}: {text}"


class RedisConnection(RunnableTask):
    """The `url` property (`uri` in older plugin-redis versions) and the session around the commands."""

    url: str | None = None
    uri: str | None = None

    @model_validator(mode="after")
    def _needs_url(self) -> RedisConnection:
        if not self.url and not self.uri:
            raise ValueError("`url` is required: the Redis connection string, e.g. redis://:password@host:6379/0")
        return self

    @contextlib.contextmanager
    def session(self, ctx: RunContext) -> Iterator[Any]:
        """A connected client; any Redis error inside becomes a one-sentence TaskFailure."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        raw = self.url if self.url else self.uri
        target = parse_url(str(ctx.render(raw)))
        options = dict(target.options)
        if "host" in options:
            options["host"] = reachable(options["host"], ctx.logger.debug)
        client: Any = None
        try:
            # single_connection_client: connect (and authenticate) here, so that errors name the
            # connection rather than the first command, and one socket serves the whole task.
            client = redis.Redis(
                **options, username=target.username, password=target.password, protocol=2,
                decode_responses=True, encoding="utf-8", encoding_errors="replace",
                retry=Retry(NoBackoff(), 0), retry_on_error=[], single_connection_client=True,
            )
            ctx.logger.debug(f"Connected to Redis at {target.masked}")
            yield client
        except redis.exceptions.RedisError as exc:
            raise TaskFailure(explain(exc, target)) from exc
        finally:
            if client is not None:
                try:
                    client.close()
                except Exception:  # noqa: BLE001 - closing a broken connection is not a second error
                    pass
