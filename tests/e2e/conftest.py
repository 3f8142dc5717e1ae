"""The e2e fixtures: the `lanner` command in a fresh interpreter per call (the UI tests' browser is
the session's, tests/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


class Cli:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {**os.environ, "LANNER_HOME": str(home), "COLUMNS": "200"}

    def __call__(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lanner", *args], capture_output=True, text=True,
                              env=self.env, timeout=timeout, cwd=ROOT)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "lanner", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env, cwd=ROOT)

    def run_json(self, *args: str) -> tuple[int, dict]:
        proc = self("run", *args, "--json")
        try:
            return proc.returncode, json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"no JSON on stdout (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}") from None


    def wait_task_running(self, flow_id: str, task_id: str, timeout: float = 20) -> None:
        """Wait until `task_id` of the newest `flow_id` execution is RUNNING in the store the CLI uses.

        The moment a signal is meant to hit a running task, named instead of guessed with a delay.
        """
        from lanner.testing import repository_of

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.home / "lanner.db").exists():
                repo = repository_of(self.home)
                for row in repo.search(flow_id=flow_id, limit=1):
                    exe = repo.get(row["id"])
                    if exe is not None and any(r.task_id == task_id and r.current.value == "RUNNING"
                                               for r in exe.task_runs):
                        return
            time.sleep(0.05)  # poll interval of a deadline-bounded wait on a positive signal
        raise AssertionError(f"`{task_id}` of `{flow_id}` was not RUNNING within {timeout}s")


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home")


def states(exe: dict) -> dict[str, str]:
    return {r["taskId"] if r.get("value") is None else f"{r['taskId']}[{r['value']}]": r["state"]["current"]
            for r in exe["taskRunList"]}
