"""The store as the cluster roles use it: one engine, one waker, transactions that announce.

A role writes its queue rows inside `transaction()` and says which channels they concern
(`tx.announce`); on PostgreSQL the announcements become NOTIFYs sent at commit, and in every case
this process's own waiters are woken right after the commit. Roles that share a process (the
standalone server) share one `QueueDatabase`, hence one LISTEN connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa

from lanner.runtime.queues.base import CHANNELS, LocalSignals
from lanner.storage import bulk_rows, cluster_db


class Tx:
    """A transaction's connection, the rows it inserts at the end, and the wake-ups to send when it commits.

    Queue rows, log lines and change records nobody reads back in the same transaction are
    gathered (`insert_later`) and written by one multi-row INSERT per table just before the
    commit (`flush`): an executor pass over a hundred executions then costs one statement per
    table instead of one per execution and table, and every round trip counts on a loaded machine.
    A reader of such a table inside the transaction calls `flush` first.
    """

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.notes: set[tuple[str, str]] = set()
        self._later: dict[sa.Table, list[dict[str, Any]]] = {}

    def announce(self, channel: str, payload: str = "") -> None:
        self.notes.add((channel, payload))

    def insert_later(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Insert `rows` into `table` at `flush` (in the order given, after the rows given before)."""
        if rows:
            self._later.setdefault(table, []).extend(rows)

    def flush(self) -> None:
        """Write the gathered rows now (one multi-row INSERT per table)."""
        later, self._later = self._later, {}
        for table, rows in later.items():
            bulk_rows.insert(self.conn, table, rows)

    def finish(self, postgres: bool) -> None:
        """Before the commit: the gathered rows and, on PostgreSQL, the NOTIFYs, in one statement."""
        if not postgres:
            self.flush()
            return
        from lanner.runtime.queues.postgres import NOTIFY_SQL, notify_params

        later, self._later = self._later, {}
        bulk_rows.insert_all(self.conn, later, (NOTIFY_SQL, notify_params(self.notes)) if self.notes else None)


class QueueDatabase:
    def __init__(self, url: str, pool_size: int = 5, channels: Iterable[str] = CHANNELS) -> None:
        """`channels`: the wake-up channels this process's roles wait on (PostgreSQL LISTENs to those)."""
        self.url = url
        self.engine = cluster_db.open_engine(url, pool_size=pool_size)
        self.postgres = cluster_db.is_postgres(self.engine)
        # Reads outside queue transactions. On SQLite they need an engine without BEGIN IMMEDIATE
        # (WAL readers never wait for the writer; a thread holding the write lock may still read).
        self.reader = self.engine if self.postgres else _sqlite_reader(url)
        self.waker: LocalSignals
        if self.postgres:
            from lanner.runtime.queues.postgres import PostgresWaker

            self.waker = PostgresWaker(cluster_db.libpq_url(self.engine), channels)
        else:
            from lanner.runtime.queues.memory import MemoryWaker

            self.waker = MemoryWaker()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.engine.begin() as conn:
            tx = Tx(conn)
            yield tx
            tx.finish(self.postgres)
        for channel, payload in tx.notes:
            self.waker.signal(channel, payload)

    def close(self) -> None:
        self.waker.close()
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()


def _sqlite_reader(url: str) -> sa.Engine:
    from lanner.storage import db

    return db.connect(url)
