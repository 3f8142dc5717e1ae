"""A Kestra user's script (tests/e2e/kestra_scripts/), run unchanged against a real `lanner
server local` process: the API is right when such a script works without a line changed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.server.harness import Server

SCRIPT = Path(__file__).parent / "kestra_scripts" / "deploy_run_download.py"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "home").start()
    yield srv
    srv.stop()


def test_a_kestra_users_script_deploys_runs_follows_and_downloads(server: Server, tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text("a,b\nx,y\n")
    proc = subprocess.run([sys.executable, str(SCRIPT), str(data)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "KESTRA_URL": server.url})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("started ") and f"{server.url}/ui/#/executions/" in lines[0]
    assert lines[1:] == ["polled SUCCESS", "followed SUCCESS", "downloaded 8 bytes: A,B", "X,Y",
                         "log INFO Hello Ada"]
