"""Fixtures of the cluster tests: databases of both backends, and a cluster running in this process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cluster.databases import PostgresDatabases, open_postgres, sqlite_url


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    dbs = open_postgres()
    yield dbs
    dbs.close()


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database (skips, or fails under LANNER_REQUIRE_SERVICES=1, without a server),
    dropped in the background once the test and its fixtures are done with it."""
    dbs: PostgresDatabases = request.getfixturevalue("postgres_databases")
    url = dbs.new()
    yield url
    dbs.release(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The contract tests run once per backend, against a fresh database each time."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "sqlite")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> Iterator[Any]:
    from tests.integration.cluster.inprocess import InProcessCluster

    c = InProcessCluster(database_url, tmp_path)
    yield c
    c.close()
