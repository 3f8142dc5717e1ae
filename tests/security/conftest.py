"""Attack fixtures: real `lanner server local` processes on free loopback ports, and the real
`lanner` CLI in a subprocess, each with its own LANNER_HOME.

`server` is the default developer setup (loopback, no password); `guarded` has basic auth, small
body limits and a short wrong-password lockout so the attacks on those doors finish quickly. Both
are forked from the session's fork server (tests/conftest.py: `forks`), each its own process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.forkserver import ForkServer
from tests.integration.server.harness import Server

USER, PASSWORD = "admin", "s3cret-pa55"
GUARDED_ENV = {"LANNER_BASIC_AUTH_USER": USER, "LANNER_BASIC_AUTH_PASSWORD": PASSWORD,
               "LANNER_MAX_UPLOAD_BYTES": str(256 * 1024), "LANNER_MAX_YAML_BYTES": str(16 * 1024),
               "LANNER_AUTH_MAX_FAILURES": "3", "LANNER_AUTH_LOCKOUT_SECONDS": "30",
               "LANNER_ALLOWED_HOSTS": "lanner.test", "LANNER_ALLOWED_ORIGINS": "https://lanner.test"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, forks: ForkServer) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("sec-open") / "home", forks=forks).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, forks: ForkServer) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("sec-auth") / "home", env=GUARDED_ENV, forks=forks).start()
    srv.client.auth = (USER, PASSWORD)
    yield srv
    srv.stop()


def stored_files(srv: Server) -> list[str]:
    """Every file in the server's internal storage, relative to it."""
    root = srv.home / "storage"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home")
