"""The fork server the crash benches and tests start `lanner` commands with (tests/forkserver.py):
its children must be the real command, in a real separate process, as `python -m lanner` would be."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.forkserver import ForkServer, alive
from tests.integration.crash.harness import flow, wait_for, wait_for_line

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def forks() -> Iterator[ForkServer]:
    server = ForkServer()
    yield server
    server.close()


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "LANNER_HOME": str(home), **extra}


def _descriptors(pid: int) -> set[str]:
    """What the process's descriptors point at (`socket:[inode]`, `pipe:[inode]`, paths)."""
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass
    return out


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def test_a_forked_command_runs_in_its_own_session_without_the_servers_descriptors_and_dies_for_real(
        forks: ForkServer, tmp_path: Path) -> None:
    log = tmp_path / "effects.log"
    (tmp_path / "f.yaml").write_text(flow(log, work=30.0, cleanup=0.1))
    proc = forks.popen(["run", str(tmp_path / "f.yaml"), "-q"], _env(tmp_path / "home"), new_session=True)
    wait_for_line(log, "work", "start")
    assert os.getsid(proc.pid) == proc.pid and proc.pid != forks.proc.pid
    shared = {d for d in _descriptors(proc.pid) & _descriptors(forks.proc.pid) if d.startswith(("socket:", "pipe:"))}
    assert shared == set()
    os.kill(proc.pid, signal.SIGSTOP)
    wait_for(lambda: _state(proc.pid) == "T", 10, "the command to stop")
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert not alive(proc.pid)


def test_a_forked_command_prints_and_exits_as_python_m_lanner_does(forks: ForkServer, tmp_path: Path) -> None:
    env = _env(tmp_path / "home")
    for argv in (["no-such-command"], ["execution", "continue", "nope"]):
        fresh = subprocess.run([sys.executable, "-m", "lanner", *argv], env=env, capture_output=True, text=True,
                               timeout=60)
        forked = forks.run(argv, env, timeout=60)
        assert (forked.returncode, forked.stdout, forked.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
        assert forked.returncode == 2


def test_ctrl_c_reaches_a_forked_run_as_it_reaches_a_fresh_one(forks: ForkServer, tmp_path: Path) -> None:
    log = tmp_path / "effects.log"
    (tmp_path / "f.yaml").write_text(flow(log, work=30.0, cleanup=0.1))
    proc = forks.popen(["run", str(tmp_path / "f.yaml"), "-q"], _env(tmp_path / "home"), new_session=True)
    wait_for_line(log, "work", "start")
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "Killing" in err
    ends = [x.split()[1] for x in log.read_text().splitlines() if x.split()[4] == "end"]
    assert ends == ["cleanup"]


def test_a_setting_read_at_import_that_differs_gets_a_fresh_interpreter(forks: ForkServer, tmp_path: Path) -> None:
    """LANNER_OWNER_LEASE is read when lanner.storage.owners is imported: a child forked from a
    parent that imported it with another value would use a stale one."""
    log = tmp_path / "effects.log"
    (tmp_path / "f.yaml").write_text(flow(log, work=30.0, cleanup=0.1))
    commands = []
    for lease in (os.environ.get("LANNER_OWNER_LEASE"), "7"):
        extra = {} if lease is None else {"LANNER_OWNER_LEASE": lease}
        proc = forks.popen(["run", str(tmp_path / "f.yaml"), "-q"], _env(tmp_path / f"home{lease}", **extra),
                           new_session=True)
        wait_for_line(log, "work", "start", count=len(commands) + 1)
        commands.append(Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0"))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert b"tests.forkserver" in commands[0]  # forked: still the server's command line
    assert commands[1][-5:] == [b"lanner", b"run", str(tmp_path / "f.yaml").encode(), b"-q", b""]


def test_a_dead_commands_pid_stays_taken_until_its_caller_has_seen_the_exit(forks: ForkServer, tmp_path: Path) -> None:
    """As with subprocess.Popen: a harness that checked poll() and then sends SIGKILL must never
    hit another process that got the freed pid meanwhile."""
    log = tmp_path / "effects.log"
    (tmp_path / "f.yaml").write_text(flow(log, work=30.0, cleanup=0.1))
    proc = forks.popen(["run", str(tmp_path / "f.yaml"), "-q"], _env(tmp_path / "home"), new_session=True)
    wait_for_line(log, "work", "start")
    os.kill(proc.pid, signal.SIGKILL)
    wait_for(lambda: _state(proc.pid) == "Z", 30, "the command to be dead")
    os.kill(proc.pid, signal.SIGKILL)  # still ours: a zombie, as a Popen child is until waited for
    assert proc.wait(timeout=30) == -signal.SIGKILL
    wait_for(lambda: not Path(f"/proc/{proc.pid}").exists(), 30, "the pid to be freed once the exit was seen")
