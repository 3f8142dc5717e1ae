"""Hostile YAML is refused by the loader itself, quickly and with its location, never a traceback.

Each attack goes through the real `lanner validate`/`lanner run` process, and the alias bomb also
through a real `lanner server local` (the flow endpoints share the loader): the process must
answer at once with `file:line: what is wrong; what to do` and stay small.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.forkserver import ForkServer
from tests.integration.server.harness import Server

FLOW_HEAD = "id: hostile\nnamespace: security\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n"


def laughs(levels: int = 9) -> str:
    """A "billion laughs": each level's list uses the previous one nine times (9**levels values)."""
    lines = ["l0: &l0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    lines += [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return FLOW_HEAD + "    message: hi\nvariables:\n" + "".join(f"  {line}\n" for line in lines)


def write(tmp_path: Path, text: str, name: str = "flow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refused(cli: Cli, path: Path, command: str = "validate") -> str:
    """Run the command, check it failed cleanly (exit 2, no traceback), return stderr."""
    proc = cli(command, str(path), timeout=30)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc.stderr


def test_billion_laughs_is_refused_in_milliseconds_at_its_line(cli: Cli, tmp_path: Path) -> None:
    text = laughs()
    assert len(text.encode()) < 700
    path = write(tmp_path, text)
    started = time.monotonic()
    err = refused(cli, path)
    elapsed = time.monotonic() - started
    assert f"{path}:" in err
    assert "the document expands to more than 1000000 nodes (aliases counted at each use)" in err
    assert "LANNER_YAML_MAX_NODES" in err
    assert elapsed < 10, elapsed  # the whole CLI start included; the bomb alone would take minutes


def test_billion_laughs_is_refused_by_run_too(cli: Cli, tmp_path: Path) -> None:
    err = refused(cli, write(tmp_path, laughs()), "run")
    assert "expands to more than" in err


def test_node_limit_is_configurable(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, laughs(3))  # 9**3 = 729 values: fine by default
    assert cli("validate", str(path)).returncode == 0
    cli.env["LANNER_YAML_MAX_NODES"] = "500"
    assert "expands to more than 500 nodes" in refused(cli, path)


def test_self_referencing_alias_is_a_located_error(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, FLOW_HEAD + "    message: hi\nvariables:\n  loop: &me [1, *me]\n")
    err = refused(cli, path)
    assert f"{path}:8:" in err
    assert "an alias refers to the map or list that contains it" in err


@pytest.mark.parametrize("number", ["9223372036854775808", "-9223372036854775809", "0x10000000000000000",
                                    "9" * 4300])
def test_integer_beyond_64_bits_is_a_located_error(cli: Cli, tmp_path: Path, number: str) -> None:
    path = write(tmp_path, FLOW_HEAD + f"    message: hi\nvariables:\n  big: {number}\n")
    err = refused(cli, path)
    assert f"{path}:8:" in err
    assert "the integer is outside the 64-bit range" in err


def test_largest_64_bit_integers_are_accepted(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, FLOW_HEAD + "    message: hi\nvariables:\n"
                 "  hi: 9223372036854775807\n  lo: -9223372036854775808\n")
    proc = cli("validate", str(path))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("tag,shown", [("!!python/object:os.system", "!!python/object:os.system"),
                                       ("!!python/object/apply:os.system", "!!python/object/apply:os.system"),
                                       ("!foo", "!foo")])
def test_custom_tags_are_refused_with_their_location(cli: Cli, tmp_path: Path, tag: str, shown: str) -> None:
    path = write(tmp_path, FLOW_HEAD + f"    message: {tag} hi\n")
    err = refused(cli, path)
    assert f"{path}:6:" in err
    assert f"the tag `{shown}` is not allowed" in err


def test_standard_tags_are_accepted(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, FLOW_HEAD + "    message: !!str hi\nvariables: !!map\n  n: !!int 3\n  b: !!bool true\n")
    proc = cli("validate", str(path))
    assert proc.returncode == 0, proc.stderr


def test_deep_nesting_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, FLOW_HEAD + "    message: hi\nvariables:\n  deep: " + "[" * 300 + "]" * 300 + "\n")
    assert "nested too deeply" in refused(cli, path)


def test_oversized_document_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli.env["LANNER_YAML_MAX_BYTES"] = "4096"
    path = write(tmp_path, FLOW_HEAD + "    message: " + "x" * 5000 + "\n")
    err = refused(cli, path)
    assert "the document is larger than 4096 bytes" in err
    assert "LANNER_YAML_MAX_BYTES" in err


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, forks: ForkServer) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("hostile-yaml") / "home", forks=forks).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("path", ["/flows", "/flows/validate"])
def test_server_refuses_the_bomb_and_keeps_answering(server: Server, path: str) -> None:
    r = server.client.post(path, content=laughs(), headers={"Content-Type": "application/x-yaml"})
    assert r.status_code in (200, 400, 422), r.text
    assert "expands to more than" in r.text
    assert server.client.get("/flows/search").status_code == 200
    assert server.proc is not None and server.proc.poll() is None


def test_server_refuses_a_recursive_alias_and_a_huge_integer(server: Server) -> None:
    for text, message in [(FLOW_HEAD + "    message: hi\nvariables:\n  loop: &me [1, *me]\n", "contains it"),
                          (FLOW_HEAD + "    message: hi\nvariables:\n  big: " + "9" * 4300 + "\n", "64-bit")]:
        r = server.client.post("/flows/validate", content=text, headers={"Content-Type": "application/x-yaml"})
        assert r.status_code != 500, r.text
        assert message in r.text
