"""Attacks on the namespace files routes: every route refuses path tricks (`..`, encoded dots,
NUL bytes, backslashes, over-long names, links planted in the tree, zip entries that climb out)
with a 400 or a 404, and nothing is read or written outside the namespace's folder.

Each test targets a fresh namespace of a real `lanner server local` process, and checks the disk
from the outside: the canary files beside the storage, and the storage's file list.
"""

from __future__ import annotations

import http.client
import io
import os
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.integration.server.harness import Server
from tests.security.conftest import PASSWORD, USER, stored_files

BASE = "/main/namespaces"
CLIMBS = ["../x.txt", "/../../x.txt", "a/../../x.txt", "./../x.txt", "..", "a/b/../../../x.txt",
          "..\\x.txt", "a\\..\\..\\x.txt"]


def _ns() -> str:
    return f"company.sec{uuid.uuid4().hex[:8]}"


def _tree(server: Server, namespace: str) -> Path:
    return server.home / "storage" / Path(*namespace.split(".")) / "_files"


def _upload(server: Server, namespace: str, path: str, data: bytes = b"payload", name: str = "x.txt") -> int:
    r = server.client.post(f"{BASE}/{namespace}/files", params={"path": path}, files={"fileContent": (name, data)})
    return r.status_code


def _files_outside(server: Server, namespace: str) -> list[str]:
    """Stored files that are not in the namespace's own tree."""
    own = "/".join(namespace.split(".")) + "/_files/"
    return [f for f in stored_files(server) if not f.startswith(own)]


@pytest.mark.parametrize("path", CLIMBS)
def test_a_climbing_path_is_refused_by_every_route_and_writes_nothing(server: Server, path: str) -> None:
    ns = _ns()
    before = _files_outside(server, ns)
    assert _upload(server, ns, "/inside.txt") == 200
    answers = {
        "upload": _upload(server, ns, path),
        "get": server.client.get(f"{BASE}/{ns}/files", params={"path": path}).status_code,
        "stats": server.client.get(f"{BASE}/{ns}/files/stats", params={"path": path}).status_code,
        "list": server.client.get(f"{BASE}/{ns}/files/directory", params={"path": path}).status_code,
        "mkdir": server.client.post(f"{BASE}/{ns}/files/directory", params={"path": path}).status_code,
        "move_from": server.client.put(f"{BASE}/{ns}/files", params={"from": path, "to": "/y"}).status_code,
        "move_to": server.client.put(f"{BASE}/{ns}/files", params={"from": "/inside.txt", "to": path}).status_code,
        "delete": server.client.delete(f"{BASE}/{ns}/files", params={"path": path}).status_code,
    }
    assert set(answers.values()) == {400}, answers
    assert _files_outside(server, ns) == before
    assert (_tree(server, ns) / "inside.txt").read_bytes() == b"payload"
    assert not (server.home / "storage" / "x.txt").exists() and not (server.home / "x.txt").exists()


def test_an_absolute_path_stays_inside_the_namespace(server: Server) -> None:
    ns = _ns()
    r = server.client.get(f"{BASE}/{ns}/files", params={"path": "/etc/passwd"})
    assert r.status_code == 404 and "root:" not in r.text
    assert _upload(server, ns, "//etc//cron.d/pwn", b"* * * * * root id") == 200
    assert (_tree(server, ns) / "etc" / "cron.d" / "pwn").is_file()


def test_raw_encoded_dots_and_nul_bytes_are_refused(server: Server) -> None:
    ns = _ns()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for raw in ("%2e%2e%2f%2e%2e%2fsecret", "a%00b.txt", "%2E%2E", "..%5c..%5cx"):
            conn.request("GET", f"/api/v1{BASE}/{ns}/files?path={raw}")
            answer = conn.getresponse()
            body = answer.read().decode()
            assert answer.status == 400, (raw, body)
            assert "Traceback" not in body
        conn.request("GET", f"/api/v1{BASE}/%2e%2e/files?path=/x")  # the namespace itself
        answer = conn.getresponse()
        assert answer.status in (400, 404), answer.read()
        answer.read()
    finally:
        conn.close()


def test_over_long_names_and_deep_paths_are_400_not_a_server_error(server: Server) -> None:
    ns = _ns()
    for path in ("/" + "a" * 300, "/" + "é" * 200 + ".txt", "/" + "/".join(["d"] * 40) + "/x", "/" + "a/" * 600):
        assert _upload(server, ns, path) == 400, path
        assert server.client.get(f"{BASE}/{ns}/files", params={"path": path}).status_code == 400
        assert server.client.post(f"{BASE}/{ns}/files/directory", params={"path": path}).status_code == 400
    assert not any(f.startswith("/".join(ns.split(".")) + "/") for f in stored_files(server))


def test_the_flows_folder_and_control_characters_are_refused(server: Server) -> None:
    ns = _ns()
    for path in ("/_flows/f.yml", "_flows", "/a\nb.txt", "/tab\there"):
        assert _upload(server, ns, path) == 400, path
    assert not _tree(server, ns).exists() or list(_tree(server, ns).rglob("*")) == []


def test_a_link_planted_in_the_tree_is_never_followed(server: Server, tmp_path: Path) -> None:
    ns = _ns()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    assert _upload(server, ns, "/keep.txt") == 200
    os.symlink(outside, _tree(server, ns) / "door")
    os.symlink(outside / "secret.txt", _tree(server, ns) / "secret-link.txt")
    for path in ("/door/secret.txt", "/secret-link.txt"):
        r = server.client.get(f"{BASE}/{ns}/files", params={"path": path})
        assert r.status_code == 400 and "symbolic link" in r.json()["message"], r.text
    assert _upload(server, ns, "/door/new.txt") == 400
    assert server.client.delete(f"{BASE}/{ns}/files", params={"path": "/door"}).status_code == 400
    assert server.client.put(f"{BASE}/{ns}/files", params={"from": "/keep.txt", "to": "/door/k"}).status_code == 400
    listed = [e["fileName"] for e in server.client.get(f"{BASE}/{ns}/files/directory").json()]
    assert listed == ["keep.txt"]
    exported = zipfile.ZipFile(io.BytesIO(server.client.get(f"{BASE}/{ns}/files/export").content))
    assert exported.namelist() == ["keep.txt"]
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret"


@pytest.mark.parametrize("entry", ["../../../evil.txt", "ok/../../evil.txt", "..\\evil.txt", "_flows/f.yml",
                                   "a" * 300])
def test_a_zip_with_a_bad_entry_is_refused_whole(server: Server, entry: str) -> None:
    ns = _ns()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", "fine")
        zf.writestr(entry, "evil")
    assert _upload(server, ns, "/bundle.zip", archive.getvalue(), name="bundle.zip") == 400
    assert not _tree(server, ns).exists() or [p for p in _tree(server, ns).rglob("*") if p.is_file()] == []
    assert not any("evil" in f for f in stored_files(server))


def test_a_file_that_is_not_a_zip_but_named_so_is_400(server: Server) -> None:
    ns = _ns()
    assert _upload(server, ns, "/x.zip", b"not a zip", name="x.zip") == 400


def test_deleting_the_root_empties_only_this_namespace(server: Server) -> None:
    ns, sibling = _ns(), _ns()
    assert _upload(server, ns, "/a/b.txt") == 200 and _upload(server, sibling, "/keep.txt") == 200
    child = ns + ".child"
    assert _upload(server, child, "/c.txt") == 200
    assert server.client.delete(f"{BASE}/{ns}/files", params={"path": "/"}).status_code == 200
    assert server.client.get(f"{BASE}/{ns}/files/directory").json() == []
    assert server.client.get(f"{BASE}/{sibling}/files", params={"path": "/keep.txt"}).content == b"payload"
    assert server.client.get(f"{BASE}/{child}/files", params={"path": "/c.txt"}).content == b"payload"


def test_namespace_file_routes_need_credentials_and_same_origin(guarded: Server) -> None:
    ns = _ns()
    anon = httpx_post(guarded, f"/api/v1{BASE}/{ns}/files?path=/x.txt", auth=None)
    assert anon == 401
    cross = httpx_post(guarded, f"/api/v1{BASE}/{ns}/files?path=/x.txt", auth=(USER, PASSWORD),
                       headers={"Origin": "https://evil.example", "Host": "lanner.test"})
    assert cross == 403
    big = guarded.client.post(f"{BASE}/{ns}/files", params={"path": "/big.bin"},
                              files={"fileContent": ("big.bin", b"0" * 400 * 1024)})
    assert big.status_code == 413
    assert stored_files(guarded) == []


def httpx_post(server: Server, url: str, auth: tuple[str, str] | None,
               headers: dict[str, str] | None = None) -> int:
    import httpx

    r = httpx.post(server.url + url, files={"fileContent": ("x.txt", b"payload")}, auth=auth,
                   headers={"Host": "lanner.test", **(headers or {})})
    return r.status_code
