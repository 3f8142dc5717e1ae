"""One server process per test module, forked from the session's fork server (tests/conftest.py:
`forks`; a quarter of a second to start); tests use distinct flow ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.forkserver import ForkServer
from tests.integration.server.harness import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, forks: ForkServer) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("server")
    srv = Server(root / "home", forks=forks).start()
    yield srv
    srv.stop()
