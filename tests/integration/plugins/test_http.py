"""HTTP tasks against a real local server (a `ThreadingHTTPServer` on 127.0.0.1 in a thread).

Routes: `/json` (JSON, a repeated header), `/echo` (the request as JSON), `/status/<code>`,
`/slow?seconds=N` (answers late, for timeouts and kills), `/redirect`, `/file/data.bin` (binary),
`/named` (Content-Disposition), `/empty`, `/basic` (basic auth).
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import files_of, logs_of, run_flow
from tests.integration.plugins.conftest import _unavailable, resolves

BINARY = bytes(range(256)) * 64


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stopping: threading.Event

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _send(self, code: int, body: bytes, content_type: str = "application/json",
              headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers or []:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/json":
            self._send(200, b'{"hello": "world", "n": 1}', headers=[("X-Multi", "a"), ("X-Multi", "b")])
        elif url.path == "/echo":
            echo = {"method": self.command, "path": url.path, "query": query,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("latin-1")}
            self._send(200, json.dumps(echo).encode())
        elif url.path.startswith("/status/"):
            code = int(url.path.rsplit("/", 1)[1])
            self._send(code, json.dumps({"error": f"status {code}"}).encode())
        elif url.path == "/slow":
            self.stopping.wait(float(query.get("seconds", "30")))  # answering late is this route's job
            self._send(200, b"done", "text/plain")
        elif url.path == "/redirect":
            self._send(302, b"", "text/plain", [("Location", "/json")])
        elif url.path == "/file/data.bin":
            self._send(200, BINARY, "application/octet-stream")
        elif url.path == "/named":
            self._send(200, b"a,b\n1,2\n", "text/csv", [("Content-Disposition", 'attachment; filename="report.csv"')])
        elif url.path == "/empty":
            self._send(200, b"", "text/plain")
        elif url.path == "/basic":
            expected = "Basic " + base64.b64encode(b"user:pa ss").decode()
            if self.headers.get("Authorization") == expected:
                self._send(200, b'{"auth": "ok"}')
            else:
                self._send(401, b'{"auth": "missing"}', headers=[("WWW-Authenticate", 'Basic realm="t"')])
        else:
            self._send(404, b'{"error": "no such route"}')

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _route


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    stopping = threading.Event()
    handler = type("TestHandler", (Handler,), {"stopping": stopping})
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    except OSError as exc:
        _unavailable(f"cannot listen on 127.0.0.1 ({exc})")
        return
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()


def run(tmp_path: Path, tasks: str, inputs: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    try:
        import httpx  # noqa: F401
    except ImportError:
        _unavailable("httpx is not installed (pip install 'httpx>=0.27')")
    return run_flow(f"id: http\nnamespace: test.http\n{tasks}", tmp_path, inputs, **kwargs)


def outputs(exe: Any, task_id: str) -> dict[str, Any]:
    return [r for r in exe.task_runs if r.task_id == task_id][0].outputs


def state(exe: Any, task_id: str | None = None) -> str:
    current = (exe.state.current if task_id is None
               else [r for r in exe.task_runs if r.task_id == task_id][0].state.current)
    return str(getattr(current, "value", current))


def messages(tmp_path: Path, exe: Any, task_id: str | None = None) -> list[str]:
    return [line["message"] for line in logs_of(tmp_path, exe.id, task_id)]


# -- Request ---------------------------------------------------------------------------------


def test_get_keeps_the_json_body_as_text_with_code_headers_and_uri(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
tasks:
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/json"
  - id: use
    type: io.kestra.plugin.core.log.Log
    message: "code={{{{ outputs.req.code }}}} multi={{{{ outputs.req.headers['X-Multi'] }}}}"
""")
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    out = outputs(exe, "req")
    assert out["code"] == 200
    assert out["body"] == '{"hello": "world", "n": 1}'  # not parsed, as in Kestra
    assert out["uri"] == f"{base}/json"
    assert out["headers"]["Content-Type"] == ["application/json"]
    assert out["headers"]["X-Multi"] == ["a", "b"]
    assert 'code=200 multi=["a","b"]' in messages(tmp_path, exe, "use")


def test_post_json_body_with_headers_rendered_from_inputs(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
inputs:
  - id: title
    type: STRING
    defaults: Lanner Pen
tasks:
  - id: req
    type: io.kestra.plugin.fs.http.Request
    uri: "{base}/echo?q=1"
    method: POST
    contentType: application/json
    body: '{{"title": "{{{{ inputs.title }}}}"}}'
    headers:
      X-Token: "t-{{{{ inputs.title }}}}"
""")
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    echo = json.loads(outputs(exe, "req")["body"])
    assert echo["method"] == "POST" and echo["query"] == {"q": "1"}
    assert echo["body"] == '{"title": "Lanner Pen"}'
    assert echo["headers"]["content-type"] == "application/json; charset=UTF-8"
    assert echo["headers"]["x-token"] == "t-Lanner Pen"


def test_form_data_is_url_encoded(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
tasks:
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/echo"
    method: POST
    formData:
      user: John Doe
      n: 1
""")
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    echo = json.loads(outputs(exe, "req")["body"])
    assert echo["headers"]["content-type"].startswith("application/x-www-form-urlencoded")
    assert urllib.parse.parse_qs(echo["body"]) == {"user": ["John Doe"], "n": ["1"]}


def test_multipart_sends_a_stored_file_and_text_fields(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
tasks:
  - id: dl
    type: io.kestra.plugin.core.http.Download
    uri: "{base}/named"
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/echo"
    method: POST
    contentType: multipart/form-data
    formData:
      upload: "{{{{ outputs.dl.uri }}}}"
      renamed:
        name: custom.csv
        content: "{{{{ outputs.dl.uri }}}}"
      user: Jane
""")
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    echo = json.loads(outputs(exe, "req")["body"])
    assert echo["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    body = echo["body"]
    assert 'name="upload"; filename="report.csv"' in body and "a,b\n1,2\n" in body
    assert 'filename="custom.csv"' in body
    assert 'name="user"' in body and "Jane" in body


def test_an_error_status_fails_with_the_status_and_the_start_of_the_body(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
tasks:
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/status/404"
""")
    assert state(exe) == "FAILED"
    errors = [m for m in messages(tmp_path, exe, "req") if "404" in m]
    assert errors, messages(tmp_path, exe)
    assert "HTTP status 404" in errors[0] and '{"error": "status 404"}' in errors[0]
    assert "allowFailed" in errors[0]
    assert outputs(exe, "req") == {}


def test_allow_failed_keeps_the_error_response_as_outputs(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
tasks:
  - id: new_style
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/status/503"
    options:
      allowFailed: true
  - id: old_style
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/status/404"
    allowFailed: true
  - id: listed
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/status/404"
    options:
      allowedResponseCodes: [404]
""")
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "new_style")["code"] == 503
    assert outputs(exe, "new_style")["body"] == '{"error": "status 503"}'
    assert outputs(exe, "old_style")["code"] == 404
    assert outputs(exe, "listed")["code"] == 404


def test_redirects_are_followed_unless_disabled(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
tasks:
  - id: follow
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/redirect"
  - id: stay
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/redirect"
    options:
      followRedirects: false
""")
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "follow")["code"] == 200
    assert outputs(exe, "follow")["body"].startswith('{"hello"')
    assert outputs(exe, "follow")["uri"] == f"{base}/redirect"
    assert outputs(exe, "stay")["code"] == 302
    assert outputs(exe, "stay")["headers"]["Location"] == ["/json"]


def test_basic_auth_in_the_current_and_the_deprecated_form(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
tasks:
  - id: current
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/basic"
    options:
      auth:
        type: BASIC
        username: user
        password: pa ss
  - id: deprecated
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/basic"
    options:
      basicAuthUser: user
      basicAuthPassword: pa ss
""")
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "current")["body"] == '{"auth": "ok"}'
    assert outputs(exe, "deprecated")["body"] == '{"auth": "ok"}'


@pytest.mark.parametrize("options", ["timeout:\n        readIdleTimeout: PT0.5S", "readTimeout: PT0.5S"])
def test_read_timeout_option_fails_a_slow_request_quickly(base: str, tmp_path: Path, options: str) -> None:
    started = time.monotonic()
    exe = run(tmp_path, f"""
tasks:
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/slow?seconds=5"
    options:
      {options}
""")
    assert time.monotonic() - started < 4
    assert state(exe) == "FAILED"
    assert any("timed out" in m and "PT0.5S" in m for m in messages(tmp_path, exe, "req")), messages(tmp_path, exe)


def test_a_kill_during_a_slow_request_ends_it_promptly(base: str, tmp_path: Path) -> None:
    started = time.monotonic()
    exe = run(tmp_path, f"""
tasks:
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/slow?seconds=30"
""", kill_when=lambda kind, item: kind == "run" and item.task_id == "req" and item.current.value == "RUNNING")
    assert time.monotonic() - started < 5
    assert state(exe) == "KILLED"
    assert state(exe, "req") == "KILLED"


def test_a_task_timeout_stops_a_slow_request(base: str, tmp_path: Path) -> None:
    started = time.monotonic()
    exe = run(tmp_path, f"""
tasks:
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: "{base}/slow?seconds=30"
    timeout: PT0.5S
""")
    assert time.monotonic() - started < 5
    assert state(exe) == "FAILED"
    assert any("Timeout after" in m for m in messages(tmp_path, exe, "req")), messages(tmp_path, exe)


def test_host_docker_internal_means_this_host_where_it_does_not_resolve(base: str, tmp_path: Path) -> None:
    """A flow written for Kestra's container reaches a service on the host as host.docker.internal;
    tasks here run on the host, so where that name does not resolve it is this host. The request
    keeps the name it was written with (`Host` header), and the task says where it connected."""
    if resolves("host.docker.internal"):
        pytest.skip("host.docker.internal resolves on this machine: it is used as it resolves")
    port = base.rsplit(":", 1)[1]
    exe = run(tmp_path, f"""
tasks:
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: "http://host.docker.internal:{port}/echo"
""")
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert json.loads(outputs(exe, "req")["body"])["headers"]["host"] == f"host.docker.internal:{port}"
    assert any("`host.docker.internal` does not resolve on this machine" in m and "127.0.0.1" in m
               for m in messages(tmp_path, exe, "req"))


def test_connection_refused_is_one_sentence(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = run(tmp_path, f"""
tasks:
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: "http://user:hunter2@127.0.0.1:{port}/x"
""")
    assert state(exe) == "FAILED"
    errors = [m for m in messages(tmp_path, exe, "req") if "refused" in m]
    assert errors and f"http://user:****@127.0.0.1:{port}/x" in errors[0]
    assert all("hunter2" not in m for m in messages(tmp_path, exe))


def test_a_uri_that_is_not_http_is_refused(tmp_path: Path) -> None:
    exe = run(tmp_path, """
tasks:
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: ftp://example.org/file
""")
    assert state(exe) == "FAILED"
    assert any("expected an absolute http:// or https:// URL" in m for m in messages(tmp_path, exe, "req"))


def test_unknown_option_is_rejected_at_validation() -> None:
    from lanner.errors import ValidationErrors
    from lanner.loading.flows import load_flow

    with pytest.raises(ValidationErrors) as caught:
        load_flow("id: f\nnamespace: n\ntasks:\n  - id: r\n    type: io.kestra.plugin.core.http.Request\n"
                  "    uri: http://x\n    options:\n      notAnOption: 1\n")
    assert "notAnOption" in caught.value.render()


# -- Download --------------------------------------------------------------------------------


def test_download_stores_a_binary_file_readable_back(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
tasks:
  - id: dl
    type: io.kestra.plugin.core.http.Download
    uri: "{base}/file/data.bin"
""")
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    out = outputs(exe, "dl")
    assert out["code"] == 200 and out["length"] == len(BINARY)
    assert out["uri"].startswith("kestra://") and out["uri"].endswith("data.bin")
    assert out["headers"]["Content-Type"] == ["application/octet-stream"]
    assert files_of(tmp_path).get(out["uri"]) == BINARY


def test_download_names_the_file_from_content_disposition(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
tasks:
  - id: dl
    type: io.kestra.plugin.fs.http.Download
    uri: "{base}/named"
""")
    assert state(exe) == "SUCCESS", messages(tmp_path, exe)
    assert outputs(exe, "dl")["uri"].endswith("/report.csv")
    assert files_of(tmp_path).get(outputs(exe, "dl")["uri"]) == b"a,b\n1,2\n"


def test_download_of_an_empty_body_fails_unless_allowed(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
tasks:
  - id: lenient
    type: io.kestra.plugin.core.http.Download
    uri: "{base}/empty"
    failOnEmptyResponse: false
  - id: strict
    type: io.kestra.plugin.core.http.Download
    uri: "{base}/empty"
""")
    assert state(exe, "lenient") == "SUCCESS" and state(exe, "strict") == "FAILED"
    assert outputs(exe, "lenient")["length"] == 0
    assert any("is empty" in m for m in messages(tmp_path, exe, "lenient"))
    assert any("empty body" in m for m in messages(tmp_path, exe, "strict"))


def test_download_of_an_error_status_fails(base: str, tmp_path: Path) -> None:
    exe = run(tmp_path, f"""
tasks:
  - id: dl
    type: io.kestra.plugin.core.http.Download
    uri: "{base}/status/500"
""")
    assert state(exe) == "FAILED"
    assert any("HTTP status 500" in m for m in messages(tmp_path, exe, "dl"))
