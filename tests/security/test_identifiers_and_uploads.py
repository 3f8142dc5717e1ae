"""Attack 1 of issue 11: no request, authenticated or not, writes outside internal storage or
leaves an upload behind; every identifier in a URL or a field name is checked with a 400."""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.integration.server.harness import Server
from tests.security.conftest import PASSWORD, USER, stored_files

FILE_FLOW = """id: {id}
namespace: company.sec
inputs:
  - {{id: data, type: FILE}}
  - {{id: label, type: STRING}}
tasks:
  - {{id: t, type: io.kestra.plugin.core.log.Log, message: "{{{{ inputs.label }}}}"}}
"""


def _escape_name(target: Path) -> str:
    return "../" * 40 + str(target).lstrip("/")


def test_a_dot_dot_field_name_on_an_unknown_flow_writes_nothing_anywhere(server: Server, tmp_path: Path) -> None:
    target = tmp_path / f"escaped-{uuid.uuid4().hex}"
    r = httpx.post(server.url + "/api/v1/executions/webhook/nonexistent",
                   files={_escape_name(target): ("x.txt", b"* * * * * root touch /tmp/pwned\n")})
    assert r.status_code == 404, r.text
    assert not target.exists() and not any(tmp_path.iterdir())
    assert stored_files(server) == []


def test_a_dot_dot_field_name_on_a_real_flow_is_refused_naming_the_rule(server: Server, tmp_path: Path) -> None:
    server.deploy(FILE_FLOW.format(id="upload_names"))
    target = tmp_path / "escaped"
    r = server.client.post("/executions/company.sec/upload_names",
                           files={_escape_name(target): ("x.txt", b"payload"), "label": (None, "hi")})
    assert r.status_code == 400, r.text
    assert "input id" in r.json()["message"] and "must match" in r.json()["message"]
    assert not target.exists() and not any(tmp_path.iterdir())
    assert [f for f in stored_files(server) if "upload_names" in f] == []


def test_a_dotted_namespace_in_a_raw_path_is_refused_with_credentials_too(guarded: Server) -> None:
    flow_id = f"pwn{uuid.uuid4().hex}"
    conn = http.client.HTTPConnection("127.0.0.1", guarded.port, timeout=10)
    try:
        body = b"--b\r\nContent-Disposition: form-data; name=\"data\"; filename=\"x\"\r\n\r\npayload\r\n--b--\r\n"
        conn.request("POST", f"/api/v1/executions/..../{flow_id}", body=body,  # as curl --path-as-is sends it
                     headers={"Content-Type": "multipart/form-data; boundary=b",
                              "Authorization": "Basic " + _basic(USER, PASSWORD)})
        answer = conn.getresponse()
        text = answer.read().decode()
    finally:
        conn.close()
    assert answer.status == 400, text
    assert "namespace `....` is not valid" in text
    assert stored_files(guarded) == []
    assert not Path("/", flow_id).exists()  # where `....` used to land: the root of the disk


def test_every_identifier_in_a_url_is_checked_before_any_lookup(server: Server) -> None:
    for path, kind in (("/flows/Bad%20NS/f", "namespace"), ("/flows/company.sec/-dash", "flow id"),
                       ("/executions/%2E%2E/restart", "execution id"), ("/BAD_TENANT!/flows/search", "tenant"),
                       ("/logs/a%00b", "execution id")):
        r = server.client.get(path) if "restart" not in path else server.client.post(path)
        assert r.status_code == 400, (path, r.text)
        assert r.json()["message"].startswith(kind), (path, r.json())


def test_an_upload_of_a_request_that_fails_later_is_removed(server: Server) -> None:
    server.deploy(FILE_FLOW.format(id="upload_fail"))
    r = server.client.post("/executions/company.sec/upload_fail", files={"data": ("x.txt", b"payload" * 1000)})
    assert r.status_code == 422 and "missing required input `label`" in r.text
    unknown = server.client.post("/executions/company.sec/upload_fail",
                                 files={"other": ("x.txt", b"payload"), "label": (None, "hi")})
    assert unknown.status_code == 422 and "not a FILE input" in unknown.text
    assert [f for f in stored_files(server) if "upload_fail" in f] == []
    ok = server.client.post("/executions/company.sec/upload_fail", params={"wait": "true"},
                            files={"data": ("x.txt", b"payload"), "label": (None, "hi")})
    assert ok.status_code == 200 and ok.json()["state"]["current"] == "SUCCESS"
    assert len([f for f in stored_files(server) if "upload_fail" in f]) == 1


def test_an_upload_refused_for_size_or_credentials_leaves_nothing(guarded: Server) -> None:
    guarded.deploy(FILE_FLOW.format(id="upload_big"))
    big = guarded.client.post("/executions/company.sec/upload_big",
                              files={"data": ("x.bin", b"0" * 400 * 1024), "label": (None, "hi")})
    assert big.status_code == 413 and "LANNER_MAX_UPLOAD_BYTES" in big.json()["hint"]
    boundary = "lanner-chunks"

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit must hold on the bytes received
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"label\"\r\n\r\nhi\r\n"
               f"--{boundary}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"x.bin\"\r\n\r\n").encode()
        for _ in range(40):
            yield b"0" * 10_240
        yield f"\r\n--{boundary}--\r\n".encode()

    streamed = guarded.client.post("/executions/company.sec/upload_big", content=chunked(),
                                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert streamed.status_code == 413 and "262144 bytes" in streamed.json()["message"]
    anonymous = httpx.post(guarded.url + "/api/v1/executions/company.sec/upload_big",
                           files={"data": ("x.bin", b"0" * 1024), "label": (None, "hi")})
    assert anonymous.status_code == 401
    assert stored_files(guarded) == []


def test_a_flow_beyond_the_yaml_limit_is_refused_with_the_setting_to_raise(guarded: Server) -> None:
    text = FILE_FLOW.format(id="huge") + "description: " + "x" * 20_000 + "\n"
    r = guarded.client.post("/flows", content=text, headers={"Content-Type": "application/x-yaml"})
    assert r.status_code == 413 and "16384 bytes" in r.json()["message"]


def _basic(user: str, password: str) -> str:
    import base64

    return base64.b64encode(f"{user}:{password}".encode()).decode()
