"""Issue 13, the namespaces pages: every route they change things through — KV put, delete and
bulk delete, namespace files upload, new folder, move and delete — goes through the server's
doors. A page on another origin gets 403, a simple cross-site body (a form, or text/plain sent
without a CORS preflight) 415 where the route takes no form, an anonymous caller 401 when auth
is on; each attack is checked to have changed nothing on disk."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.server.harness import Server
from tests.security.conftest import stored_files

NS = "company.nsdoors"
BASE = f"/api/v1/main/namespaces/{NS}"
EVIL = {"Origin": "http://attacker.example"}
JSON = {"Content-Type": "application/json"}


def _routes() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request keywords) of each mutating route of the pages, with a valid body."""
    return [
        ("PUT", f"{BASE}/kv/kept", {"content": '"pwned"', "headers": JSON}),
        ("PUT", f"{BASE}/kv/planted", {"content": '"pwned"', "headers": JSON}),
        ("DELETE", f"{BASE}/kv/kept", {}),
        ("DELETE", f"{BASE}/kv", {"content": '{"keys": ["kept"]}', "headers": JSON}),
        ("POST", f"{BASE}/files?path=/planted.txt", {"files": {"fileContent": ("planted.txt", b"pwned")}}),
        ("POST", f"{BASE}/files/directory?path=/planted", {}),
        ("PUT", f"{BASE}/files?from=/kept.txt&to=/moved.txt", {}),
        ("DELETE", f"{BASE}/files?path=/kept.txt", {}),
    ]


@pytest.fixture(scope="module")
def seeded(server: Server) -> list[str]:
    """A key and a file the attacks aim at; the storage's file list before them."""
    c = server.client
    assert c.put(f"/main/namespaces/{NS}/kv/kept", content='"mine"', headers=JSON).status_code == 200
    assert c.post(f"/main/namespaces/{NS}/files", params={"path": "/kept.txt"},
                  files={"fileContent": ("kept.txt", b"mine")}).status_code == 200
    return stored_files(server)


def _unchanged(server: Server, before: list[str]) -> None:
    assert stored_files(server) == before
    assert server.client.get(f"/main/namespaces/{NS}/kv/kept").json() == {"type": "STRING", "value": "mine"}
    assert server.client.get(f"/main/namespaces/{NS}/files", params={"path": "/kept.txt"}).content == b"mine"


def _send(server: Server, method: str, path: str, kwargs: dict[str, Any], **extra: Any) -> int:
    headers = {**kwargs.get("headers", {}), **extra.pop("headers", {})}
    rest = {k: v for k, v in kwargs.items() if k != "headers"}
    return httpx.request(method, server.url + path, headers=headers, **rest, **extra).status_code


def test_another_origin_cannot_change_keys_or_files(server: Server, seeded: list[str]) -> None:
    for method, path, kwargs in _routes():
        assert _send(server, method, path, kwargs, headers=EVIL) == 403, (method, path)
        assert _send(server, method, path, kwargs, headers={"Sec-Fetch-Site": "cross-site"}) == 403, (method, path)
    _unchanged(server, seeded)


def test_a_simple_cross_site_body_is_refused_where_no_form_is_taken(server: Server, seeded: list[str]) -> None:
    for method, path, kwargs in _routes():
        if "files" in kwargs:
            continue  # the upload takes a form by design; the Origin and Fetch-Metadata doors guard it (above)
        for body in ({"data": {"value": "pwned"}}, {"content": '"pwned"', "headers": {"Content-Type": "text/plain"}}):
            assert _send(server, method, path, body) == 415, (method, path, body)
    _unchanged(server, seeded)


def test_keys_and_files_need_credentials_when_auth_is_on(guarded: Server) -> None:
    before = stored_files(guarded)
    for method, path, kwargs in _routes():
        assert _send(guarded, method, path, kwargs, headers={"Host": "lanner.test"}) == 401, (method, path)
    for path in (f"{BASE}/kv", f"{BASE}/kv/kept", f"{BASE}/files/directory", "/api/v1/main/namespaces/search"):
        assert httpx.get(guarded.url + path, headers={"Host": "lanner.test"}).status_code == 401, path
    assert stored_files(guarded) == before
