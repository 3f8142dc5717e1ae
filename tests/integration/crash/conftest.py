"""The crash tests run on the embedded SQLite store, and some on PostgreSQL too (same rules)."""

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
def store_url(request: pytest.FixtureRequest) -> str | None:
    """None for the embedded SQLite file under LANNER_HOME; else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("crash_postgres").new()
