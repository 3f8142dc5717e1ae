"""One server process per test module (start-up costs ~1.5 s); tests use distinct flow ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.server.harness import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("server")
    srv = Server(root / "home").start()
    yield srv
    srv.stop()
