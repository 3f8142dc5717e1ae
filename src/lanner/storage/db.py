"""Opening the store: the embedded SQLite file under LANNER_HOME, or a configured database URL.

Migrations run through alembic, but only when the stored schema is not at the head revision:
the check is one query, so `lanner run` does not pay alembic's (nor SQLAlchemy's) import time on
every start. A new, empty database skips the walk through every migration: it gets the head
schema at once (`create_schema`; for a new embedded store the same schema as SQL text,
`new_store.py`, so not even SQLAlchemy is imported), stamped with the head revision.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lanner.errors import LannerError

if TYPE_CHECKING:
    import sqlalchemy as sa

HEAD_REVISION = "0006"
_DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB")  # SQLite's names for a file that is not a sound database


class StoreError(LannerError):
    """The local store or LANNER_HOME cannot be used. Nothing was changed; the message says what to do."""


def lanner_home() -> Path:
    home = Path(os.environ.get("LANNER_HOME") or Path.home() / ".lanner")
    if home.exists() and not home.is_dir():
        raise StoreError(f"LANNER_HOME `{home}` is not a folder",
                         hint="point LANNER_HOME at a folder (it is created if missing), or move that file away")
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create LANNER_HOME `{home}`: {exc.strerror or exc}",
                         hint="point LANNER_HOME at a folder you can write to") from None
    return home


def unusable_home(home: Path) -> StoreError | None:
    """Why LANNER_HOME cannot be written to, found by trying (root ignores permission bits)."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=home):
            return None
    except OSError as exc:
        return StoreError(f"LANNER_HOME `{home}` is not writable: {exc.strerror or exc}",
                          hint="point LANNER_HOME at a folder you can write to, or fix its permissions")


def damaged_store(path: Path, exc: BaseException) -> StoreError:
    """The one message for a store file that SQLite cannot read: where it is, untouched, what to do."""
    aside = shlex.quote(str(path))
    return StoreError(f"the store `{path}` is damaged ({str(exc).splitlines()[0]}); it was left untouched",
                      hint=f"move it aside to start with an empty store (mv {aside} {aside}.damaged), "
                           "or set LANNER_HOME to another folder")


def store_fault(exc: BaseException) -> StoreError | None:
    """A StoreError for an exception that says the embedded store is damaged or its home unusable.

    Checked on the way out of a command, so a damaged file found mid-way (not only on opening)
    still gets the one-line explanation instead of a driver traceback.
    """
    import sqlite3

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StoreError):
            return current
        if isinstance(current, sqlite3.DatabaseError) and getattr(current, "sqlite_errorname", "") in _DAMAGE \
                and not os.environ.get("LANNER_DATABASE_URL"):
            return damaged_store(lanner_home() / "lanner.db", current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return None


def database_url() -> str:
    url = os.environ.get("LANNER_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{lanner_home() / 'lanner.db'}"


def connect(url: str | None = None) -> sa.Engine:
    import sqlalchemy as sa

    url = url or database_url()
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            from lanner.storage.sql import use_wal

            use_wal(dbapi_conn)
            cur = dbapi_conn.cursor()
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
    import sqlite3

    from lanner.storage.sql import SqliteDatabase

    target = path or lanner_home() / "lanner.db"
    try:
        revision = _revision(target)
    except sqlite3.OperationalError as exc:  # e.g. "unable to open database file"
        raise unusable_home(target.parent) or StoreError(
            f"cannot open the store `{target}`: {exc}", hint="check the file's permissions") from None
    if revision != HEAD_REVISION:
        import fcntl

        from lanner.storage import new_store

        # Two `lanner` processes starting on a new home must not migrate the same file at once.
        with open(f"{target}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            revision = _revision(target)
            if revision is None and _empty(target) and new_store.create(target, HEAD_REVISION):
                revision = HEAD_REVISION
            if revision != HEAD_REVISION:
                connect(f"sqlite:///{target}").dispose()
    return SqliteDatabase(str(target))


def _empty(target: Path) -> bool:
    """Whether the SQLite file holds no table at all (a new store, not one damaged or foreign)."""
    import sqlite3

    conn = sqlite3.connect(target, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    finally:
        conn.close()


def _revision(target: Path) -> str | None:
    import sqlite3

    conn = sqlite3.connect(target, timeout=30)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") in _DAMAGE:
            raise damaged_store(target, exc) from None
        if not isinstance(exc, sqlite3.OperationalError) or "no such table" not in str(exc):
            raise
        row = None  # a new, empty store: migrations create the tables
    finally:
        conn.close()
    return row[0] if row else None


def open_store() -> Any:
    """The configured store: the embedded SQLite file, or the database LANNER_DATABASE_URL names."""
    if os.environ.get("LANNER_DATABASE_URL"):
        return connect()
    return open_embedded()


def current_revision(engine: sa.Engine) -> str | None:
    import sqlalchemy as sa

    with engine.connect() as conn:
        try:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except sa.exc.DBAPIError:
            conn.rollback()
            return None


def upgrade_if_needed(engine: sa.Engine) -> None:
    if current_revision(engine) == HEAD_REVISION:
        return
    upgrade(engine)


def upgrade(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        migrate(conn)


def alembic_config(conn: sa.Connection) -> Any:
    """Alembic's configuration for Lanner's migrations, run on `conn` (in its transaction)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(conn: sa.Connection) -> None:
    """Bring the schema to the head revision: a database without any table gets it at once
    (`create_schema`), any other goes through the migrations it lacks."""
    import sqlalchemy as sa

    if sa.inspect(conn).get_table_names():
        from alembic import command

        command.upgrade(alembic_config(conn), "head")
    else:
        create_schema(conn)


def create_schema(conn: sa.Connection) -> None:
    """The head schema made at once from the tables' metadata, stamped with the head revision as
    alembic stamps it. Tests hold it equal to the schema the migrations build, table by table."""
    from alembic import command

    from lanner.storage.tables import metadata

    metadata.create_all(conn)
    command.stamp(alembic_config(conn), "head")
