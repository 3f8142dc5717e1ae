"""One HTTP exchange that a kill or a timeout can stop at once, and its failures in one sentence.

A blocking `recv` does not notice a `threading.Event`, and closing a socket from another thread
does not wake it on Linux. So the client's connections are made through a network backend that
remembers its sockets, the exchange runs in a helper thread, and the task's thread waits for
either the exchange or `ctx.cancelled`; on cancellation it shuts the sockets down, which wakes the
helper at once, and returns without waiting for a server that may never answer.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from lanner.plugins.api import RunContext, TaskFailure
from lanner.plugins.host_names import reachable
from lanner.plugins.http.options import Settings, describe

T = TypeVar("T")
USER_AGENT = "Lanner"
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*):[^@/]*@")


class Cancelled(Exception):
    """Raised inside the exchange when the task was cancelled while reading."""


def mask(uri: str) -> str:
    """The URI with any password it holds replaced by `****`."""
    return _USERINFO.sub(r"\1:****@", uri)


def _tracking_backend(note: Callable[[str], None] | None = None) -> Any:
    """An httpcore network backend that remembers every socket it opens, so they can be shut down.

    It also picks the address each connection goes to (`host_names.reachable`), below httpx, so the
    request keeps the host name written in its URL, `Host` header and TLS name."""
    import httpcore

    class TrackingBackend(httpcore.NetworkBackend):
        def __init__(self) -> None:
            self._inner = httpcore.SyncBackend()
            self._streams: list[Any] = []
            self._lock = threading.Lock()
            self._aborted = False

        def _track(self, stream: Any) -> Any:
            with self._lock:
                self._streams.append(stream)
                aborted = self._aborted
            if aborted:
                _shutdown(stream)
            return stream

        def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                        socket_options: Any = None) -> Any:
            return self._track(self._inner.connect_tcp(reachable(host, note), port, timeout, local_address,
                                                       socket_options))

        def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
            return self._track(self._inner.connect_unix_socket(path, timeout, socket_options))

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

        def abort(self) -> None:
            with self._lock:
                self._aborted = True
                streams = list(self._streams)
            for stream in streams:
                _shutdown(stream)

    return TrackingBackend()


def _shutdown(stream: Any) -> None:
    sock = stream.get_extra_info("socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


def open_client(settings: Settings, note: Callable[[str], None] | None = None) -> tuple[Any, Any]:
    """An httpx client configured from the settings, and the backend that can abort its sockets
    (`note` hears where a connection goes elsewhere than its URL says)."""
    import httpx

    backend = _tracking_backend(note)
    try:
        transport = httpx.HTTPTransport(verify=settings.verify, proxy=settings.proxy, retries=0, trust_env=False)
    except ImportError as exc:  # a SOCKS proxy without httpx's optional dependency
        raise TaskFailure(f"The proxy needs a package that is not installed ({exc}); "
                          "install it with pip install 'httpx[socks]'") from exc
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = backend  # httpcore's pools take a backend; httpx does not expose the option
    auth: Any = None
    if settings.auth is not None:
        kind, user, password = settings.auth
        auth = httpx.DigestAuth(user, password) if kind == "DIGEST" else httpx.BasicAuth(user, password)
    headers = {"User-Agent": USER_AGENT}
    if settings.bearer is not None:
        headers["Authorization"] = f"Bearer {settings.bearer}"
    timeout = httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout,
                            write=settings.read_timeout, pool=None)
    # Kestra's client reads no proxy or certificate settings from the environment; neither do we.
    client = httpx.Client(transport=transport, auth=auth, headers=headers, timeout=timeout,
                          follow_redirects=settings.follow_redirects, max_redirects=50, trust_env=False)
    return client, backend


def exchange(ctx: RunContext, settings: Settings, build: Callable[[Any], Any], handle: Callable[[Any], T]) -> T:
    """Build the request with the client, send it and give the streamed response to `handle` (in a helper
    thread); stop at once on cancellation."""
    import httpx

    client, backend = open_client(settings, ctx.logger.debug)
    try:
        request = build(client)
    except (httpx.InvalidURL, ValueError) as exc:
        client.close()
        raise TaskFailure(f"Invalid request: {exc}") from exc
    except BaseException:
        client.close()
        raise
    done = threading.Event()
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            response = client.send(request, stream=True)
            try:
                result["value"] = handle(response)
            finally:
                response.close()
        except BaseException as exc:  # noqa: BLE001 - handed over to the task's thread
            result["error"] = exc
        finally:
            client.close()
            done.set()

    helper = threading.Thread(target=work, name=f"lanner-http-{getattr(ctx, 'task_run_id', '')}", daemon=True)
    helper.start()
    while not done.wait(0.05):
        if ctx.cancelled.is_set():
            backend.abort()
            done.wait(1.0)  # usually immediate; a request stuck in connect is left to its connect timeout
            raise TaskFailure(f"HTTP request cancelled ({request.method} {mask(str(request.url))})")
    if "error" in result:
        error = result["error"]
        if ctx.cancelled.is_set():
            raise TaskFailure(f"HTTP request cancelled ({request.method} {mask(str(request.url))})")
        if isinstance(error, TaskFailure):
            raise error
        raise _failure(error, request, settings) from error
    return result["value"]


def read_body(ctx: RunContext, response: Any, limit: int | None = None) -> bytes:
    """The (decoded) body, read in chunks so a cancellation is noticed between them."""
    data = bytearray()
    for chunk in response.iter_bytes():
        if ctx.cancelled.is_set():
            raise Cancelled()
        data.extend(chunk)
        if limit is not None and len(data) >= limit:
            break
    return bytes(data)


def header_map(response: Any) -> dict[str, list[str]]:
    """Response headers as Kestra gives them: name → every value, names in case-insensitive order."""
    grouped: dict[str, tuple[str, list[str]]] = {}
    for raw_name, raw_value in response.headers.raw:
        name = raw_name.decode("latin-1")
        grouped.setdefault(name.lower(), (name, []))[1].append(raw_value.decode("latin-1"))
    return {name: values for _, (name, values) in sorted(grouped.items())}


def _failure(exc: BaseException, request: Any, settings: Settings) -> TaskFailure:
    """One sentence for a transport error."""
    import httpx

    if isinstance(exc, Cancelled):
        return TaskFailure(f"HTTP request cancelled ({request.method} {mask(str(request.url))})")
    failed = exc.request if isinstance(exc, httpx.RequestError) and _has_request(exc) else request
    target = f"{failed.method} {mask(str(failed.url))}"  # after redirects, the request that failed
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return TaskFailure(f"{target} failed: no connection within {describe(settings.connect_timeout)} "
                           "(options.timeout.connectTimeout)")
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout)):
        return TaskFailure(f"{target} timed out: the server sent nothing for {describe(settings.read_timeout)} "
                           "(options.timeout.readIdleTimeout)")
    if isinstance(exc, httpx.ConnectError):
        if "refused" in low:
            reason = "connection refused; is the server running and listening there?"
        elif "name or service not known" in low or "nodename nor servname" in low or "name resolution" in low:
            reason = "the host name cannot be resolved"
        elif "certificate" in low or "ssl" in low:
            reason = f"TLS failed ({text}); set options.ssl.insecureTrustAllCertificates for a self-signed certificate"
        else:
            reason = text
        return TaskFailure(f"{target} failed: {reason}")
    if isinstance(exc, httpx.TooManyRedirects):
        return TaskFailure(f"{target} failed: too many redirects")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return TaskFailure(f"{target} failed: only http:// and https:// URIs are supported")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return TaskFailure(f"{target} failed: the connection broke during the exchange ({text})")
    if isinstance(exc, httpx.HTTPError):
        return TaskFailure(f"{target} failed: {text}")
    return TaskFailure(f"{target} failed: {type(exc).__name__}: {text}")


def _has_request(exc: Any) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises when the error has no request attached
        return True
    except RuntimeError:
        return False
