"""The crash tests run on the embedded SQLite store, and some on PostgreSQL too (same rules).

Their `lanner` commands are forked from one pre-imported parent (tests/forkserver.py): each is
still the CLI entry point in a process of its own, that a SIGKILL or SIGSTOP hits for real, but
does not pay a second of interpreter start-up (the session's `forks`, tests/conftest.py). One test
keeps fresh `python -m lanner` interpreters, so the installed command line stays covered here too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.cluster.databases import PostgresDatabases, open_postgres


@pytest.fixture(scope="session")
def crash_postgres() -> Iterator[PostgresDatabases]:
    dbs = open_postgres()
    yield dbs
    dbs.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the embedded SQLite file under LANNER_HOME; else a fresh PostgreSQL database,
    dropped in the background once the test is done with it."""
    if request.param == "sqlite":
        yield None
        return
    dbs: PostgresDatabases = request.getfixturevalue("crash_postgres")
    url = dbs.new()
    yield url
    dbs.release(url)
