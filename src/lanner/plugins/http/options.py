"""The `options` of the HTTP tasks: Kestra's `HttpConfiguration`, including its deprecated spellings.

Kestra moved the timeouts under `options.timeout` (`connectTimeout`, `readIdleTimeout`), the proxy
under `options.proxy` and the credentials under `options.auth` (`type: BASIC|BEARER|DIGEST`), and
still accepts the older flat keys (`connectTimeout`, `readTimeout`, `basicAuthUser`, `proxyAddress`,
…). Both are accepted here and resolve to the same settings. Keys Kestra itself declares but ignores
(`readIdleTimeout` and `connectionPoolIdleTimeout` at the top level, `maxContentLength`) are
accepted and ignored too, with a debug line.

Kestra's HTTP client has no read timeout unless `options.timeout` is given, in which case
`readIdleTimeout` defaults to five minutes; connecting gives up after three minutes. Same here.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from lanner.errors import LannerError
from lanner.model.duration import format_duration, parse_duration
from lanner.model.property import Bool, Duration, Int
from lanner.plugins.api import RunContext, TaskFailure
from lanner.plugins.properties import render_bool, render_int, render_str

LogType = Literal["REQUEST_HEADERS", "REQUEST_BODY", "RESPONSE_HEADERS", "RESPONSE_BODY"]
DEFAULT_CONNECT_TIMEOUT = 180.0
DEFAULT_READ_IDLE_TIMEOUT = 300.0
_LOG_LEVELS: dict[str, set[str]] = {
    "TRACE": {"REQUEST_HEADERS", "REQUEST_BODY", "RESPONSE_HEADERS", "RESPONSE_BODY"},
    "DEBUG": {"REQUEST_HEADERS", "RESPONSE_HEADERS"},
    "INFO": {"RESPONSE_HEADERS"},
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimeoutConfiguration(_Strict):
    connectTimeout: Duration | None = None
    readIdleTimeout: Duration | None = None


class ProxyConfiguration(_Strict):
    type: str = "DIRECT"  # DIRECT, HTTP or SOCKS (java.net.Proxy.Type)
    address: str | None = None
    port: Int | None = None
    username: str | None = None
    password: str | None = None


class AuthConfiguration(_Strict):
    type: str  # BASIC, BEARER or DIGEST
    username: str | None = None
    password: str | None = None
    token: str | None = None


class SslOptions(_Strict):
    insecureTrustAllCertificates: Bool | None = None


class HttpOptions(_Strict):
    timeout: TimeoutConfiguration | None = None
    proxy: ProxyConfiguration | None = None
    auth: AuthConfiguration | None = None
    ssl: SslOptions | None = None
    followRedirects: Bool = True
    allowFailed: Bool = False
    allowedResponseCodes: list[Int] | str | None = None
    defaultCharset: str | None = "UTF-8"
    logs: list[LogType] | None = None
    # deprecated in Kestra, still honoured
    connectTimeout: Duration | None = None
    readTimeout: Duration | None = None
    proxyType: str | None = None
    proxyAddress: str | None = None
    proxyPort: Int | None = None
    proxyUsername: str | None = None
    proxyPassword: str | None = None
    basicAuthUser: str | None = None
    basicAuthPassword: str | None = None
    logLevel: str | None = None
    # deprecated in Kestra and ignored there: accepted, ignored
    readIdleTimeout: Duration | None = None
    connectionPoolIdleTimeout: Duration | None = None
    maxContentLength: Int | None = None


@dataclasses.dataclass(slots=True)
class Settings:
    """Rendered options, ready for the client."""

    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float | None = None
    follow_redirects: bool = True
    allow_failed: bool = False
    allowed_codes: list[int] | None = None
    charset: str = "UTF-8"
    logs: set[str] = dataclasses.field(default_factory=set)
    auth: tuple[str, str, str] | None = None  # (BASIC|DIGEST, user, password)
    bearer: str | None = None
    proxy: str | None = None
    verify: bool = True

    def accepts(self, code: int) -> bool:
        """Kestra's rule: an explicit list of codes wins, then allowFailed, else anything below 400."""
        if self.allowed_codes:
            return code in self.allowed_codes
        return self.allow_failed or code < 400


def _seconds(ctx: RunContext, value: dt.timedelta | str | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = str(ctx.render(value)).strip()
        try:
            value = parse_duration(text)
        except LannerError:
            raise TaskFailure(f"`{name}` must be an ISO-8601 duration such as PT30S, got `{text}`") from None
    return max(value.total_seconds(), 0.0)


def _codes(ctx: RunContext, value: list[int | str] | str | None) -> list[int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        rendered = ctx.render_typed(value)
        if isinstance(rendered, str):
            try:
                rendered = json.loads(rendered)
            except json.JSONDecodeError:
                raise TaskFailure("`options.allowedResponseCodes` must be a list of status codes") from None
        value = rendered if isinstance(rendered, list) else [rendered]
    return [render_int(ctx, v, "options.allowedResponseCodes") or 0 for v in value]


def resolve(ctx: RunContext, options: HttpOptions | None, allow_failed: Any, ssl: SslOptions | None) -> Settings:
    """Render the options (and the task-level deprecated `allowFailed` / `sslOptions`) into settings."""
    o = options or HttpOptions()
    s = Settings()
    timeout = o.timeout
    connect = _seconds(ctx, timeout.connectTimeout if timeout else None, "options.timeout.connectTimeout")
    connect = connect if connect is not None else _seconds(ctx, o.connectTimeout, "options.connectTimeout")
    s.connect_timeout = connect if connect is not None else DEFAULT_CONNECT_TIMEOUT
    read = _seconds(ctx, timeout.readIdleTimeout if timeout else None, "options.timeout.readIdleTimeout")
    read = read if read is not None else _seconds(ctx, o.readTimeout, "options.readTimeout")
    s.read_timeout = read if read is not None else (DEFAULT_READ_IDLE_TIMEOUT if timeout else None)
    s.follow_redirects = render_bool(ctx, o.followRedirects, "options.followRedirects")
    s.allow_failed = render_bool(ctx, o.allowFailed, "options.allowFailed")
    if allow_failed is not None:
        s.allow_failed = render_bool(ctx, allow_failed, "allowFailed")
    s.allowed_codes = _codes(ctx, o.allowedResponseCodes)
    charset = render_str(ctx, o.defaultCharset) or "UTF-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        raise TaskFailure(f"`options.defaultCharset` `{charset}` is not a known character set") from None
    s.charset = charset
    s.logs = set(o.logs or _LOG_LEVELS.get((o.logLevel or "").upper(), set()))
    _auth(ctx, o, s)
    _proxy(ctx, o, s)
    trust_all = (ssl or o.ssl or SslOptions()).insecureTrustAllCertificates
    # Kestra trusts every certificate as soon as the key is present, even `false`; here only `true` does.
    s.verify = trust_all is None or not render_bool(ctx, trust_all, "options.ssl.insecureTrustAllCertificates")
    for name in ("readIdleTimeout", "connectionPoolIdleTimeout", "maxContentLength"):
        if getattr(o, name) is not None:
            ctx.logger.debug(f"`options.{name}` is deprecated and ignored (as in Kestra)")
    return s


def _auth(ctx: RunContext, o: HttpOptions, s: Settings) -> None:
    if o.auth is not None:
        kind = (render_str(ctx, o.auth.type) or "").upper()
        if kind == "BEARER":
            s.bearer = render_str(ctx, o.auth.token) or ""
        elif kind in ("BASIC", "DIGEST"):
            user, password = render_str(ctx, o.auth.username), render_str(ctx, o.auth.password)
            if kind == "DIGEST" and (not user or password is None):
                raise TaskFailure("Digest authentication requires both `username` and `password`")
            # Kestra's basic auth sends `null` for a missing part; an empty string is kinder.
            s.auth = (kind, user or "", password or "")
        else:
            raise TaskFailure(f"`options.auth.type` must be BASIC, BEARER or DIGEST, got `{kind}`")
    elif o.basicAuthUser is not None or o.basicAuthPassword is not None:
        s.auth = ("BASIC", render_str(ctx, o.basicAuthUser) or "", render_str(ctx, o.basicAuthPassword) or "")


def _proxy(ctx: RunContext, o: HttpOptions, s: Settings) -> None:
    p = o.proxy or ProxyConfiguration(type=o.proxyType or "DIRECT", address=o.proxyAddress, port=o.proxyPort,
                                      username=o.proxyUsername, password=o.proxyPassword)
    address = render_str(ctx, p.address)
    if not address:
        return
    kind = (render_str(ctx, p.type) or "DIRECT").upper()
    if kind == "DIRECT":
        return
    port = render_int(ctx, p.port, "options.proxy.port")
    if port is None:
        raise TaskFailure("`options.proxy.port` is required with a proxy address")
    scheme = {"HTTP": "http", "SOCKS": "socks5"}.get(kind)
    if scheme is None:
        raise TaskFailure(f"`options.proxy.type` must be DIRECT, HTTP or SOCKS, got `{kind}`")
    import urllib.parse

    user, password = render_str(ctx, p.username), render_str(ctx, p.password)
    auth = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}@" if user and password else ""
    s.proxy = f"{scheme}://{auth}{address}:{port}"


def describe(seconds: float | None) -> str:
    """A timeout as the ISO-8601 duration flows write (`PT0.5S`)."""
    return "no limit" if seconds is None else format_duration(dt.timedelta(seconds=seconds))
