"""The database connection of the cluster roles, and the schema upgrade they share.

PostgreSQL serialises concurrent claims with row locks (`FOR UPDATE SKIP LOCKED`). SQLite has
no row locks: its writers take the whole-database lock. For a claim to be atomic there, every
transaction of the cluster engine starts with `BEGIN IMMEDIATE`, which takes the write lock up
front (waiting with the busy timeout) instead of failing mid-transaction when a read must become
a write. The embedded runtime keeps its own engine (`db.connect`), unchanged.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lanner.storage import db
from lanner.storage.sql import use_wal


def sqlalchemy_url(url: str) -> str:
    """`postgresql://…` means psycopg 3 (the driver Lanner installs), as in `db.connect`."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def libpq_url(engine: sa.Engine) -> str:
    """The engine's URL as psycopg's own `connect()` takes it (for the LISTEN connection)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def open_engine(url: str, pool_size: int = 5) -> sa.Engine:
    """An engine for queue work on `url`, with the schema upgraded to the head revision."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # the driver must not open transactions on its own
            use_wal(dbapi_conn, patience=60.0)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        engine = sa.create_engine(sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size)
        _ping_when_idle(engine)
    if db.current_revision(engine) != db.HEAD_REVISION:
        migrate(engine)
    return engine


IDLE_PING_SECONDS = 1.0  # a pooled connection unused for longer is checked before it is handed out


def _ping_when_idle(engine: sa.Engine) -> None:
    """Check a pooled connection before use only when it sat idle (SQLAlchemy's pre-ping, but not
    for every checkout): a busy role takes a connection for every transaction, and pinging each
    time cost a round trip per transaction. One that died (a database restart) is replaced; one
    used within the last second is trusted — if the server went away meanwhile, that transaction
    fails, the roles' loops retry, and SQLAlchemy then renews the whole pool."""
    import time

    @sa.event.listens_for(engine, "connect")
    def _connected(_dbapi_conn: Any, record: Any) -> None:
        record.info["used"] = time.monotonic()

    @sa.event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["used"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("used", 0.0) < IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure means: use another connection
            raise sa.exc.DisconnectionError(str(exc)) from exc
        if not alive:
            raise sa.exc.DisconnectionError("the connection did not answer a ping")


def migrate(engine: sa.Engine) -> str | None:
    """Upgrade to the head revision; returns the revision found before.

    Processes of every role start at once and all run this: on PostgreSQL an advisory lock makes
    them take turns (the later ones find the schema done); on SQLite `BEGIN IMMEDIATE` does.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(72010004)"))
        before = None
        if sa.inspect(conn).has_table("alembic_version"):
            before = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if before != db.HEAD_REVISION:
            db.migrate(conn)
    return before


def upgrade(url: str) -> tuple[str | None, str]:
    """`lanner db upgrade`: run the pending migrations; returns (revision before, revision after)."""
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        return migrate(engine), db.HEAD_REVISION
    finally:
        engine.dispose()


def is_postgres(engine: sa.Engine) -> bool:
    return engine.dialect.name == "postgresql"
