"""Fuzzing of the YAML loader and the template renderer, each in a process under resource limits.

The runner caps its own memory (RLIMIT_AS 1 GiB) and CPU; here we check that it ended on its
own (no abort, no kill), within its time, and found no input that escaped with a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
RUNNER = Path(__file__).with_name("runner.py")


@pytest.mark.parametrize("target,examples", [("yaml", 300), ("templates", 300)])
def test_every_generated_input_ends_with_a_result_or_a_clear_error(target: str, examples: int) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
           "LANNER_REGEX_TIMEOUT": "0.5", "LANNER_JQ_TIMEOUT": "2", "LANNER_JQ_MEMORY_MB": "256"}
    proc = subprocess.run([sys.executable, str(RUNNER), target, str(examples)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=240, check=False)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert proc.stdout.strip().endswith(f"ok {examples}")
