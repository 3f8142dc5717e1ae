from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


class Cli:
    def __init__(self, home: Path) -> None:
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


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home")


def states(exe: dict) -> dict[str, str]:
    return {r["taskId"] if r.get("value") is None else f"{r['taskId']}[{r['value']}]": r["state"]["current"]
            for r in exe["taskRunList"]}
