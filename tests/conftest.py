"""Shared test helpers: the public `lanner.testing` helpers, so tests use what plugin authors use.

A flow runs in-process through the real runtime (SQLite store, worker threads) in the test's
`tmp_path`; `logs_of` and `files_of` read back what it stored there.

`forks` is the one fork server of the session (tests/forkserver.py): the crash tests start their
`lanner` commands from it, the API and security tests their servers. `browser` is the one headless
Chromium of the session (Debian's, driven by Playwright) for the UI and browser-attack tests: a
launch costs a second or two, and each test opens a context of its own, with its own cookies and
storage, so the tests do not see each other. Without Chromium or Playwright they skip with the
reason, unless LANNER_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lanner.testing import files_of, logs_of, repository_of, run_flow
from tests.forkserver import ForkServer

__all__ = ["files_of", "logs_of", "repository_of", "run_flow"]


@pytest.fixture(scope="session")
def forks() -> Iterator[ForkServer]:
    server = ForkServer()
    yield server
    server.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]


def unavailable(reason: str) -> None:
    """Skip, or fail when the services are required (CI)."""
    if os.environ.get("LANNER_REQUIRE_SERVICES") == "1":
        pytest.fail(f"LANNER_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
        return
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing (bash .ci/services.sh installs Debian's chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
