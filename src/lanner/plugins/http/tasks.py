"""`io.kestra.plugin.core.http.Request` and `io.kestra.plugin.core.http.Download`.

Both build the request the way Kestra's `AbstractHttp` does: `formData` wins over `body` (URL-encoded,
or multipart when `contentType` is `multipart/form-data`, where `kestra://` values become file
parts); a `body` is sent as text with `contentType` (default `application/json`) and the charset;
`headers` given by the flow replace the defaults. A status of 400 or more fails the task unless
`options.allowFailed` (or the deprecated task-level `allowFailed`) is true or the status is in
`options.allowedResponseCodes`. `Request` keeps the body as text — JSON is not parsed, as in Kestra,
so flows use `{{ outputs.req.body | jq('.id') }}` or `fromJson`. `Download` streams the body into
internal storage.
"""

from __future__ import annotations

import json
import unicodedata
import urllib.parse
from pathlib import PurePosixPath
from typing import Any

from lanner.expr.values import stringify
from lanner.model.property import Bool
from lanner.plugins.api import Output, RunContext, RunnableTask, TaskFailure, output_docs
from lanner.plugins.http.client import Cancelled, exchange, header_map, mask, read_body
from lanner.plugins.http.options import HttpOptions, Settings, SslOptions, resolve
from lanner.plugins.properties import render_bool, render_str

SNIPPET = 500  # characters of an error response's body quoted in the failure message


class AbstractHttp(RunnableTask):
    """What Request and Download share: the request and the options."""

    uri: str
    method: str = "GET"
    body: str | int | float | bool | dict[str, Any] | list[Any] | None = None
    formData: dict[str, Any] | str | None = None
    contentType: str | None = "application/json"
    headers: dict[str, Any] | str | None = None
    options: HttpOptions | None = None
    allowFailed: Bool | None = None  # deprecated in Kestra: options.allowFailed
    sslOptions: SslOptions | None = None  # deprecated in Kestra: options.ssl

    def settings(self, ctx: RunContext) -> Settings:
        return resolve(ctx, self.options, self.allowFailed, self.sslOptions)

    def builder(self, ctx: RunContext, settings: Settings) -> tuple[str, str, Any]:
        """The rendered URI and method, and a function building the httpx request with a client."""
        uri = (render_str(ctx, self.uri) or "").strip().replace(" ", "%20")
        parts = urllib.parse.urlsplit(uri)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise TaskFailure(f"Invalid `uri` `{mask(uri)}`: expected an absolute http:// or https:// URL")
        method = (render_str(ctx, self.method) or "GET").strip().upper()
        content_type = render_str(ctx, self.contentType)
        arguments: dict[str, Any] = {}
        headers: dict[str, str] = {}
        user_headers = self._headers(ctx)
        form = self._form(ctx)
        if form:
            if (content_type or "").split(";")[0].strip().lower() == "multipart/form-data":
                arguments["files"] = _multipart(ctx, form)
            else:
                arguments["data"] = {k: stringify(v) for k, v in form.items()}
        elif self.body is not None:
            body = ctx.render(self.body) if isinstance(self.body, (str, dict, list)) else self.body
            text = body if isinstance(body, str) else stringify(body)
            charset = settings.charset
            if content_type:
                if "charset=" in content_type.lower():
                    charset = content_type.lower().split("charset=", 1)[1].split(";")[0].strip() or charset
                    headers["Content-Type"] = content_type
                else:
                    headers["Content-Type"] = f"{content_type}; charset={settings.charset}"
            try:
                arguments["content"] = text.encode(charset)
            except (LookupError, UnicodeEncodeError) as exc:
                raise TaskFailure(f"Cannot encode the body as {charset}: {exc}") from None
        elif content_type and not user_headers:
            headers["Content-Type"] = content_type  # Kestra sends it even without a body, unless headers are set
        headers.update(user_headers)

        def build(client: Any) -> Any:
            request = client.build_request(method, uri, headers=headers, **arguments)
            if settings.logs & {"REQUEST_HEADERS", "REQUEST_BODY"}:
                _log_request(ctx, settings, request, arguments)
            return request

        return uri, method, build

    def _headers(self, ctx: RunContext) -> dict[str, str]:
        rendered = _mapping(ctx, self.headers, "headers")
        return {str(k): stringify(v) for k, v in rendered.items()}

    def _form(self, ctx: RunContext) -> dict[str, Any]:
        return _mapping(ctx, self.formData, "formData")

    def check_status(self, ctx: RunContext, response: Any, settings: Settings, method: str, uri: str) -> None:
        """Fail on a status the options do not accept, quoting the start of the body."""
        if settings.logs & {"RESPONSE_HEADERS"}:
            ctx.logger.info(f"Response: HTTP {response.status_code} {response.reason_phrase} "
                            + " ".join(f"{k}: {v}" for k, v in response.headers.multi_items()))
        code = response.status_code
        if settings.accepts(code):
            return
        text = read_body(ctx, response, limit=4 * SNIPPET).decode("utf-8", "replace")
        text = " ".join(text.split())
        shown = text if len(text) <= SNIPPET else text[:SNIPPET] + "…"
        body = f"the response body starts with: {shown}" if shown else "the response body is empty"
        accept = ("a status in options.allowedResponseCodes" if settings.allowed_codes
                  else "set options.allowFailed: true to accept error statuses")
        raise TaskFailure(f"{method} {mask(uri)} failed with HTTP status {code} {response.reason_phrase}".rstrip()
                          + f"; {body} ({accept})")


class Request(AbstractHttp):
    """Send an HTTP request; outputs `code`, `headers`, `body` (text) and `uri`."""

    outputs_doc = output_docs(
        uri=("string", "The URI that was requested"),
        code=("integer", "The HTTP status code of the response"),
        headers=("object", "The response headers, each name with its list of values"),
        body=("string", "The response body as text; absent when the response has none (HEAD, 204, 304)"),
    )

    encryptBody: Bool = False

    def run(self, ctx: RunContext) -> Output:
        settings = self.settings(ctx)
        if render_bool(ctx, self.encryptBody, "encryptBody"):
            ctx.logger.debug("`encryptBody` is ignored: Lanner does not encrypt outputs, the body is in `body`")
        uri, method, build = self.builder(ctx, settings)

        def handle(response: Any) -> tuple[int, dict[str, list[str]], bytes | None]:
            self.check_status(ctx, response, settings, method, uri)
            data = read_body(ctx, response)
            no_body = method == "HEAD" or response.status_code in (204, 304) or response.status_code < 200
            return response.status_code, header_map(response), (None if no_body and not data else data)

        try:
            code, headers, data = exchange(ctx, settings, build, handle)
        except Cancelled:
            raise TaskFailure(f"HTTP request cancelled ({method} {mask(uri)})") from None
        outputs: dict[str, Any] = {"uri": uri, "code": code, "headers": headers}
        if data is not None:
            body = data.decode("utf-8", "replace")
            _check_unicode(body)
            outputs["body"] = body
            if settings.logs & {"RESPONSE_BODY"}:
                ctx.logger.info(f"Response body: {body}")
        ctx.logger.debug(f"{method} {mask(uri)} answered HTTP {code}")
        return Output(outputs)


class Download(AbstractHttp):
    """Download a file into internal storage; outputs `uri` (kestra://), `code`, `length` and `headers`."""

    outputs_doc = output_docs(
        uri=("string", "The `kestra://` URI of the downloaded file"),
        code=("integer", "The HTTP status code of the response"),
        length=("integer", "The size of the downloaded file in bytes"),
        headers=("object", "The response headers, each name with its list of values"),
    )

    failOnEmptyResponse: Bool = True

    def run(self, ctx: RunContext) -> Output:
        settings = self.settings(ctx)
        fail_on_empty = render_bool(ctx, self.failOnEmptyResponse, "failOnEmptyResponse")
        uri, method, build = self.builder(ctx, settings)
        target = ctx.working_dir() / "download.part"

        def handle(response: Any) -> tuple[int, dict[str, list[str]], int, str | None]:
            self.check_status(ctx, response, settings, method, uri)
            size = 0
            with open(target, "wb") as out:
                for chunk in response.iter_bytes():
                    if ctx.cancelled.is_set():
                        raise Cancelled()
                    out.write(chunk)
                    size += len(chunk)
            return response.status_code, header_map(response), size, response.headers.get("content-disposition")

        try:
            code, headers, size, disposition = exchange(ctx, settings, build, handle)
        except Cancelled:
            raise TaskFailure(f"HTTP download cancelled ({method} {mask(uri)})") from None
        if size == 0:
            if fail_on_empty and not settings.allow_failed:
                raise TaskFailure(f"No response from server: {method} {mask(uri)} answered HTTP {code} with an empty "
                                  "body (set failOnEmptyResponse: false to accept empty files)")
            ctx.logger.warn(f"File '{mask(uri)}' is empty")
        name = _filename(disposition) or PurePosixPath(urllib.parse.urlsplit(uri).path).name or "download"
        stored = ctx.put_file(name, target.read_bytes())
        ctx.logger.debug(f"File '{mask(uri)}' downloaded with size '{size}'")
        return Output({"uri": stored, "code": code, "length": size, "headers": headers})


# -- helpers --------------------------------------------------------------------------------


def _mapping(ctx: RunContext, value: dict[str, Any] | str | None, name: str) -> dict[str, Any]:
    """A `Property<Map>`: a YAML map (rendered, keys too) or a template rendering to a JSON object."""
    if value is None:
        return {}
    if isinstance(value, str):
        rendered: Any = ctx.render_typed(value)
        if isinstance(rendered, str):
            try:
                rendered = json.loads(rendered) if rendered.strip() else {}
            except json.JSONDecodeError:
                raise TaskFailure(f"`{name}` must be a map, got `{rendered[:80]}`") from None
        if not isinstance(rendered, dict):
            raise TaskFailure(f"`{name}` must be a map, got {type(rendered).__name__}")
        return dict(rendered)
    return {str(ctx.render(k)): (ctx.render(v) if isinstance(v, (str, dict, list)) else v) for k, v in value.items()}


def _multipart(ctx: RunContext, form: dict[str, Any]) -> list[tuple[str, tuple[str | None, Any, str | None]]]:
    """Multipart parts: `kestra://` values and `{name, content}` maps are files, the rest text fields."""
    parts: list[tuple[str, tuple[str | None, Any, str | None]]] = []
    for key, value in form.items():
        if isinstance(value, str) and value.startswith("kestra://"):
            parts.append((key, (PurePosixPath(value).name, _read(ctx, value, key), "application/octet-stream")))
        elif isinstance(value, dict) and "name" in value and "content" in value:
            content = str(value["content"])
            parts.append((key, (str(value["name"]), _read(ctx, content, key), "application/octet-stream")))
        else:
            parts.append((key, (None, stringify(value), None)))
    return parts


def _read(ctx: RunContext, uri: str, key: str) -> bytes:
    try:
        return ctx.read_file(uri)
    except Exception as exc:  # noqa: BLE001 - storage errors carry their own explanation
        raise TaskFailure(f"Cannot read the file of form field `{key}` ({uri}): "
                          f"{getattr(exc, 'message', None) or exc}") from exc


def _check_unicode(body: str) -> None:
    """Kestra refuses a body with unassigned code points: binary content belongs to Download."""
    if body.isascii():
        return
    for ch in body:
        if unicodedata.category(ch) == "Cn":
            raise TaskFailure(f"Illegal unicode code point in the response body: {ord(ch)}; the Request task only "
                              "supports valid Unicode text as body; use the Download task instead")


def _filename(disposition: str | None) -> str | None:
    """The file name of a Content-Disposition header (`filename*` preferred), without any directory."""
    if not disposition:
        return None
    plain = extended = None
    for part in disposition.split(";"):
        name, _, value = part.strip().partition("=")
        value = value.strip()
        if name.strip().lower() == "filename*" and "'" in value:
            extended = urllib.parse.unquote(value.split("'", 2)[-1].strip('"'))
        elif name.strip().lower() == "filename":
            plain = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    found = extended or plain
    return PurePosixPath(found.replace("\\", "/")).name if found else None


def _log_request(ctx: RunContext, settings: Settings, request: Any, arguments: dict[str, Any]) -> None:
    """`options.logs`: the request line and headers (credentials hidden), and a text body."""
    if "REQUEST_HEADERS" in settings.logs:
        shown = [(k, "****" if k.lower() in ("authorization", "proxy-authorization") else v)
                 for k, v in request.headers.multi_items()]
        ctx.logger.info(f"Request: {request.method} {mask(str(request.url))} "
                        + " ".join(f"{k}: {v}" for k, v in shown))
    if "REQUEST_BODY" in settings.logs and "content" in arguments:
        ctx.logger.info(f"Request body: {arguments['content'].decode('utf-8', 'replace')}")
