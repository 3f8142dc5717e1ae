"""Issue 13: `GET /executions/{id}/file?path=` serves only that execution's files. A path that
climbs out (`..`), names another execution's file, an absolute path, another scheme, or a
symbolic link planted in the execution's folder is refused with a 4xx and no content."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.server.harness import Server, by_task

FLOW = """id: owner
namespace: company.sec
tasks:
  - id: w
    type: io.kestra.plugin.core.storage.Write
    content: "mine"
    extension: .txt
"""
OTHER = FLOW.replace("id: owner", "id: neighbour").replace('"mine"', '"theirs"')
ROUTES = ("/file", "/file/metas", "/file/preview")


@pytest.fixture(scope="module")
def two(server: Server) -> tuple[dict[str, Any], dict[str, Any]]:
    server.deploy(FLOW)
    server.deploy(OTHER)
    return server.run("company.sec", "owner"), server.run("company.sec", "neighbour")


def _refused(server: Server, exe: dict[str, Any], path: str) -> None:
    for route in ROUTES:
        r = server.client.get(f"/executions/{exe['id']}{route}", params={"path": path})
        assert 400 <= r.status_code < 500, (route, path, r.status_code, r.text)
        assert "theirs" not in r.text and "root:" not in r.text
        assert r.json()["message"]


def test_its_own_file_is_served(server: Server, two: tuple[dict[str, Any], dict[str, Any]]) -> None:
    mine, _ = two
    uri = by_task(mine)["w"]["outputs"]["uri"]
    assert server.client.get(f"/executions/{mine['id']}/file", params={"path": uri}).content == b"mine"


def test_another_executions_file_is_refused(server: Server, two: tuple[dict[str, Any], dict[str, Any]]) -> None:
    mine, theirs = two
    _refused(server, mine, by_task(theirs)["w"]["outputs"]["uri"])


def test_climbing_out_with_dot_dot_is_refused(server: Server, two: tuple[dict[str, Any], dict[str, Any]]) -> None:
    mine, theirs = two
    prefix = f"kestra:///company/sec/owner/executions/{mine['id']}"
    their_rest = by_task(theirs)["w"]["outputs"]["uri"].split("/executions/", 1)[1]
    for path in (f"{prefix}/../../neighbour/executions/{their_rest}", f"{prefix}/../../../../../etc/passwd",
                 f"{prefix}/tasks/./w", f"{prefix}/tasks\\..\\..\\x", f"{prefix}/%2e%2e/x"):
        _refused(server, mine, path)


def test_absolute_paths_and_other_schemes_are_refused(server: Server,
                                                      two: tuple[dict[str, Any], dict[str, Any]]) -> None:
    mine, _ = two
    for path in ("/etc/passwd", "file:///etc/passwd", "kestra:////etc/passwd", "kestra://host/etc/passwd", "",
                 str(server.home / "storage" / "company" / "sec" / "owner" / "executions" / mine["id"])):
        _refused(server, mine, path)


def test_a_symbolic_link_in_the_executions_folder_is_not_followed(server: Server,
                                                                  two: tuple[dict[str, Any], dict[str, Any]]) -> None:
    mine, theirs = two
    folder = server.home / "storage" / "company" / "sec" / "owner" / "executions" / mine["id"]
    their_file = server.home / "storage" / by_task(theirs)["w"]["outputs"]["uri"][len("kestra:///"):]
    (folder / "link.txt").symlink_to(their_file)
    (folder / "etc").symlink_to("/etc")
    _refused(server, mine, f"kestra:///company/sec/owner/executions/{mine['id']}/link.txt")
    _refused(server, mine, f"kestra:///company/sec/owner/executions/{mine['id']}/etc/passwd")
