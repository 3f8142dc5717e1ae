"""The namespace files API against a real `lanner server local` process: Kestra's routes under
`/api/v1/main/namespaces/{namespace}/files…`, their query parameters and JSON shapes, and a flow
that reads what the API stored."""

from __future__ import annotations

import io
import uuid
import zipfile

from tests.integration.server.harness import Server, by_task

MAIN = "/main/namespaces"


def _ns() -> str:
    return f"company.api{uuid.uuid4().hex[:8]}"


def upload(server: Server, namespace: str, path: str, data: bytes, name: str = "f.txt") -> int:
    r = server.client.post(f"{MAIN}/{namespace}/files", params={"path": path}, files={"fileContent": (name, data)})
    return r.status_code


def test_an_uploaded_file_is_listed_read_and_described(server: Server) -> None:
    ns = _ns()
    assert upload(server, ns, "/scripts/main.py", b"print('hi')\n") == 200
    root = server.client.get(f"{MAIN}/{ns}/files/directory").json()
    assert [(e["fileName"], e["type"]) for e in root] == [("scripts", "Directory")]
    listed = server.client.get(f"{MAIN}/{ns}/files/directory", params={"path": "/scripts"}).json()
    assert len(listed) == 1
    entry = listed[0]
    assert entry["fileName"] == "main.py" and entry["type"] == "File" and entry["size"] == 12
    assert isinstance(entry["lastModifiedTime"], int) and isinstance(entry["creationTime"], int)
    got = server.client.get(f"{MAIN}/{ns}/files", params={"path": "/scripts/main.py"})
    assert got.status_code == 200 and got.content == b"print('hi')\n"
    assert got.headers["content-type"] == "application/octet-stream"
    st = server.client.get(f"{MAIN}/{ns}/files/stats", params={"path": "/scripts/main.py"}).json()
    assert st["type"] == "File" and st["size"] == 12
    assert server.client.get(f"{MAIN}/{ns}/files/search", params={"q": "main"}).json() == ["/scripts/main.py"]
    # the same routes without a tenant, as Lanner's other routes
    assert server.client.get(f"/namespaces/{ns}/files", params={"path": "scripts/main.py"}).content == b"print('hi')\n"


def test_an_empty_namespace_has_an_empty_root_and_missing_paths_are_404(server: Server) -> None:
    ns = _ns()
    assert server.client.get(f"{MAIN}/{ns}/files/directory").json() == []
    assert server.client.get(f"{MAIN}/{ns}/files/stats").json()["type"] == "Directory"
    missing = server.client.get(f"{MAIN}/{ns}/files", params={"path": "/nope.txt"})
    assert missing.status_code == 404 and "no namespace file `/nope.txt`" in missing.json()["message"]
    assert server.client.get(f"{MAIN}/{ns}/files/directory", params={"path": "/nodir"}).status_code == 404
    assert server.client.delete(f"{MAIN}/{ns}/files", params={"path": "/nope"}).status_code == 404


def test_directories_are_created_moved_and_deleted(server: Server) -> None:
    ns = _ns()
    assert server.client.post(f"{MAIN}/{ns}/files/directory", params={"path": "/a/b"}).status_code == 200
    assert upload(server, ns, "/a/b/x.txt", b"x") == 200
    r = server.client.put(f"{MAIN}/{ns}/files", params={"from": "/a", "to": "/renamed"})
    assert r.status_code == 200, r.text
    assert server.client.get(f"{MAIN}/{ns}/files", params={"path": "/renamed/b/x.txt"}).content == b"x"
    assert server.client.get(f"{MAIN}/{ns}/files/directory").json()[0]["fileName"] == "renamed"
    assert upload(server, ns, "/other.txt", b"o") == 200
    clash = server.client.put(f"{MAIN}/{ns}/files", params={"from": "/other.txt", "to": "/renamed"})
    assert clash.status_code == 400 and "already exists" in clash.json()["message"]
    assert server.client.delete(f"{MAIN}/{ns}/files", params={"path": "/renamed"}).status_code == 200
    assert [e["fileName"] for e in server.client.get(f"{MAIN}/{ns}/files/directory").json()] == ["other.txt"]


def test_a_zip_upload_is_unpacked_and_the_export_gives_every_file_back(server: Server) -> None:
    ns = _ns()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("lib/util.py", "U = 1\n")
        zf.writestr("README.md", "readme")
    assert upload(server, ns, "/bundle.zip", archive.getvalue(), name="bundle.zip") == 200
    exported = server.client.get(f"{MAIN}/{ns}/files/export")
    assert exported.status_code == 200
    assert f'filename="{ns}_files.zip"' in exported.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(exported.content)) as zf:
        assert sorted(zf.namelist()) == ["README.md", "lib/util.py"]
        assert zf.read("lib/util.py") == b"U = 1\n"


def test_a_revision_lanner_does_not_keep_is_refused_not_answered_with_the_latest(server: Server) -> None:
    ns = _ns()
    assert upload(server, ns, "/a.txt", b"a") == 200
    assert server.client.get(f"{MAIN}/{ns}/files", params={"path": "/a.txt", "revision": 1}).content == b"a"
    r = server.client.get(f"{MAIN}/{ns}/files", params={"path": "/a.txt", "revision": 2})
    assert r.status_code == 400 and "keeps only the current content" in r.json()["message"]


def test_a_flow_reads_and_runs_files_uploaded_through_the_api(server: Server) -> None:
    ns = _ns()
    assert upload(server, ns, "/greeting.txt", b"hello from the API") == 200
    assert upload(server, ns, "/scripts/run.sh", b"echo script-ran\n") == 200
    server.deploy(f"""id: nsfiles_api
namespace: {ns}
tasks:
  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read('greeting.txt') }}}}"
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    namespaceFiles:
      enabled: true
    commands: ["sh scripts/run.sh"]
""")
    exe = server.run(ns, "nsfiles_api")
    assert exe["state"]["current"] == "SUCCESS", exe
    assert by_task(exe)["read"]["outputs"]["value"] == "hello from the API"
    logs = server.client.get(f"/logs/{exe['id']}").json()
    assert any(line["message"] == "script-ran" for line in logs)
