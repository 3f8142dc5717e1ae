"""Bad local input (a damaged store, an unusable LANNER_HOME, a bad option, a non-regular file)
gets one line `error: what is wrong; what to do` and exit 2 from the real CLI: no traceback, no hang,
no silent success, and the damaged file is left exactly as it was."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Cli

FLOW = "id: ok\nnamespace: security\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def one_line_error(proc: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    for part in expected:
        assert part in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "ok.yaml"
    path.write_text(FLOW)
    return path


@pytest.fixture
def used_store(cli: Cli, flow_file: Path) -> Path:
    """A real store written by a real run, with its execution id in `.exe`."""
    proc = cli("run", "-q", "--json", str(flow_file))
    assert proc.returncode == 0, proc.stderr
    home = Path(cli.env["LANNER_HOME"])
    (home / ".exe").write_text(re.search(r'"id": "(\w+)"', proc.stdout).group(1))  # type: ignore[union-attr]
    return home / "lanner.db"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


COMMANDS = [("run", "-q", "{flow}"), ("executions",), ("execution", "show", "{exe}"), ("logs", "{exe}")]


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_damaged_store_is_explained_and_left_untouched(cli: Cli, used_store: Path, flow_file: Path,
                                                       damage: str, command: tuple[str, ...]) -> None:
    exe = (used_store.parent / ".exe").read_text()
    data = used_store.read_bytes()
    for extra in ("-wal", "-shm"):  # the damaged main file alone, as a copied or cut-off file would be
        Path(f"{used_store}{extra}").unlink(missing_ok=True)
    used_store.write_bytes(data[: len(data) // 8] if damage == "truncated" else os.urandom(len(data) // 8))
    before = digest(used_store)
    proc = cli(*(a.format(flow=flow_file, exe=exe) for a in command))
    line = one_line_error(proc, f"the store `{used_store}` is damaged", "it was left untouched",
                          f"mv {used_store} {used_store}.damaged")
    assert "LANNER_HOME" in line
    assert digest(used_store) == before


def test_lanner_home_that_is_a_file(tmp_path: Path, flow_file: Path) -> None:
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    for args in (("run", "-q", str(flow_file)), ("executions",)):
        one_line_error(Cli(home)(*args), f"LANNER_HOME `{home}` is not a folder", "point LANNER_HOME at a folder")


def test_lanner_home_below_a_file(tmp_path: Path, flow_file: Path) -> None:
    home = tmp_path / "home-file" / "sub"
    home.parent.write_text("not a folder")
    one_line_error(Cli(home)("run", "-q", str(flow_file)), f"cannot create LANNER_HOME `{home}`")


def test_lanner_home_that_is_not_writable(tmp_path: Path, flow_file: Path) -> None:
    if os.geteuid() == 0:
        home = Path("/sys/kernel")  # a folder even root cannot create files in
    else:
        home = tmp_path / "read-only"
        home.mkdir()
        home.chmod(0o500)
    one_line_error(Cli(home)("executions"), f"LANNER_HOME `{home}` is not writable")
    one_line_error(Cli(home)("run", "-q", str(flow_file)), "is not writable")


@pytest.mark.parametrize("threads", ["0", "-3"])
def test_threads_below_one_is_refused(cli: Cli, flow_file: Path, threads: str) -> None:
    one_line_error(cli("run", "--threads", threads, str(flow_file)), f"--threads must be at least 1, got {threads}")


def test_validate_on_a_fifo_does_not_hang(cli: Cli, tmp_path: Path) -> None:
    fifo = tmp_path / "flow.yaml"
    os.mkfifo(fifo)
    one_line_error(cli("validate", str(fifo), timeout=20), f"`{fifo}` is a FIFO")


@pytest.mark.parametrize("target,kind", [("folder", "a folder"), ("/dev/null", "not a regular file")])
def test_validate_on_a_non_regular_file(cli: Cli, tmp_path: Path, target: str, kind: str) -> None:
    path = tmp_path if target == "folder" else Path(target)
    one_line_error(cli("validate", str(path), timeout=20), f"`{path}` is {kind}")
    one_line_error(cli("run", str(path), timeout=20), f"`{path}` is {kind}")


def test_unknown_state_lists_the_valid_ones(cli: Cli, used_store: Path) -> None:
    line = one_line_error(cli("executions", "--state", "NOPE"), "unknown state `NOPE`")
    for state in ("SUCCESS", "FAILED", "RUNNING", "KILLED"):
        assert state in line
    proc = cli("executions", "--state", "success")
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout


def test_the_installed_lanner_script_gets_the_same_message(tmp_path: Path) -> None:
    home = tmp_path / "home-file"
    home.write_text("x")
    script = shutil.which("lanner") or pytest.skip("no `lanner` script on PATH")
    proc = subprocess.run([script, "executions"], capture_output=True, text=True, check=False,
                          env={**os.environ, "LANNER_HOME": str(home)}, cwd=ROOT, timeout=60)
    one_line_error(proc, "is not a folder")
