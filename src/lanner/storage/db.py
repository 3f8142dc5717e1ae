"""Opening the store: the embedded SQLite file under LANNER_HOME, or a configured database URL.

Migrations run through alembic, but only when the stored schema is not at the head revision:
the check is one query, so `lanner run` does not pay alembic's (nor SQLAlchemy's) import time on
every start.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa

HEAD_REVISION = "0006"


def lanner_home() -> Path:
    home = Path(os.environ.get("LANNER_HOME") or Path.home() / ".lanner")
    home.mkdir(parents=True, exist_ok=True)
    return home


def database_url() -> str:
    url = os.environ.get("LANNER_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{lanner_home() / 'lanner.db'}"


def connect(url: str | None = None) -> "sa.Engine":
    import sqlalchemy as sa

    url = url or database_url()
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        engine = sa.create_engine(url, pool_pre_ping=True)
    upgrade_if_needed(engine)
    return engine


def open_embedded(path: Path | None = None) -> Any:
    """The embedded SQLite store through Python's own driver (no SQLAlchemy import).

    Only when the schema is missing or older than this Lanner do migrations run, through
    alembic, and only then is SQLAlchemy imported: `lanner run` stays quick to start.
    """
    from lanner.storage.sql import SqliteDatabase

    target = path or lanner_home() / "lanner.db"
    if _revision(target) != HEAD_REVISION:
        import fcntl

        # Two `lanner` processes starting on a new home must not migrate the same file at once.
        with open(f"{target}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _revision(target) != HEAD_REVISION:
                connect(f"sqlite:///{target}").dispose()
    return SqliteDatabase(str(target))


def _revision(target: Path) -> str | None:
    import sqlite3

    conn = sqlite3.connect(target, timeout=30)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    return row[0] if row else None


def open_store() -> Any:
    """The configured store: the embedded SQLite file, or the database LANNER_DATABASE_URL names."""
    if os.environ.get("LANNER_DATABASE_URL"):
        return connect()
    return open_embedded()


def current_revision(engine: "sa.Engine") -> str | None:
    import sqlalchemy as sa

    with engine.connect() as conn:
        try:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except sa.exc.DBAPIError:
            conn.rollback()
            return None


def upgrade_if_needed(engine: "sa.Engine") -> None:
    if current_revision(engine) == HEAD_REVISION:
        return
    upgrade(engine)


def upgrade(engine: "sa.Engine") -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
