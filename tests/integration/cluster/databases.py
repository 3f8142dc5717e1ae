"""Fresh databases for the cluster tests: a new PostgreSQL database per test, or a SQLite file.

PostgreSQL is the shared server at LANNER_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test). Each test session migrates one template database
once, then every test gets `CREATE DATABASE … TEMPLATE` (tens of milliseconds), so tests never
see each other's rows. A database its test is done with is dropped by a thread of its own while
the next tests run: a DROP DATABASE waits for a checkpoint (a third of a second here), which the
suite paid once per database, in a row, at its end. Whatever is left is dropped at the end.
Without a reachable server the PostgreSQL cases skip with the reason, or fail when
LANNER_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
from pathlib import Path

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("LANNER_TEST_POSTGRES_URL", DEFAULT_URL)


def unavailable(reason: str) -> None:
    if os.environ.get("LANNER_REQUIRE_SERVICES") == "1":
        pytest.fail(f"PostgreSQL is required (LANNER_REQUIRE_SERVICES=1) but {reason}")
    pytest.skip(f"PostgreSQL not available: {reason} (set LANNER_TEST_POSTGRES_URL)")


class PostgresDatabases:
    """Creates databases from a migrated template on one server; drops them all on `close`."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self.admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
        self.prefix = f"lanner_t{os.getpid()}_{secrets.token_hex(3)}"
        self.created: list[str] = []
        self._done: queue.Queue[str | None] = queue.Queue()
        self._dropper: threading.Thread | None = None
        self.template = self._create(f"{self.prefix}_tpl", None)
        from lanner.storage import cluster_db

        engine = cluster_db.open_engine(self.url_of(self.template))  # migrates
        engine.dispose()

    def url_of(self, name: str) -> str:
        base, _, _ = self.url.rpartition("/")
        return f"{base}/{name}"

    def _create(self, name: str, template: str | None) -> str:
        with self.admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self.created.append(name)
        return name

    def new(self) -> str:
        """The URL of a fresh, migrated, empty database."""
        return self.url_of(self._create(f"{self.prefix}_{len(self.created)}", self.template))

    def release(self, url: str) -> None:
        """The test that had `url` is over (its processes and connections stopped): drop it soon."""
        if self._dropper is None:
            self._dropper = threading.Thread(target=self._drop_released, name="drop-test-databases", daemon=True)
            self._dropper.start()
        self._done.put(url.rpartition("/")[2])

    def _drop_released(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=3) as admin:
            while (name := self._done.get()) is not None:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]

    def close(self) -> None:
        if self._dropper is not None:
            self._done.put(None)
            self._dropper.join()
        with self.admin.cursor() as cur:
            for name in reversed(self.created):
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()


def open_postgres() -> PostgresDatabases:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed (pip install 'psycopg[binary]')")
    try:
        return PostgresDatabases(postgres_url())
    except Exception as exc:  # noqa: BLE001 - any connection problem is a reason to skip
        unavailable(f"{postgres_url()} is unreachable: {exc}")
        raise


def sqlite_url(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'lanner.db'}"
