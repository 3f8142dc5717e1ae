"""A new embedded store made in milliseconds: the schema of the head revision, as SQL text.

Running the migrations one by one on a new `LANNER_HOME` imports SQLAlchemy and alembic and
rebuilds tables batch by batch: that cost as much as the first run itself. Alembic stays the
schema's source of truth: `sqlite_schema.sql` is what `metadata.create_all` plus alembic's own
`stamp` make on an empty SQLite file (`render`), kept beside this module, and the tests check
that it is current and that the store it makes equals one migrated from nothing, on SQLite and
(for `db.create_schema`, its SQLAlchemy twin) on PostgreSQL. When a migration is added, the file
is stale until `python -m lanner.storage.new_store` writes it again; a stale file is never used
(its revision line differs from `db.HEAD_REVISION`, so the migrations run instead).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_FILE = Path(__file__).with_name("sqlite_schema.sql")
REVISION_PREFIX = "-- revision "


def schema_revision(text: str) -> str | None:
    """The head revision a schema file was made at (its first line), None without one."""
    first = text.split("\n", 1)[0]
    return first[len(REVISION_PREFIX):].strip() if first.startswith(REVISION_PREFIX) else None


def create(target: Path, head: str) -> bool:
    """Create the schema of revision `head` in the new, empty SQLite file `target`, in one
    transaction; False (nothing done) when the shipped file is not of that revision."""
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    if schema_revision(text) != head:
        return False
    conn = sqlite3.connect(target, timeout=30, isolation_level=None)
    try:  # all or nothing: a failure leaves the transaction open, and closing rolls it back
        conn.executescript(f"BEGIN IMMEDIATE;\n{text}\nCOMMIT;")
    finally:
        conn.close()
    return True


def render() -> str:
    """The file's text: the schema `create_all` and `alembic stamp head` leave in an empty SQLite
    file, read back from `sqlite_master` (imports SQLAlchemy and alembic: tools and tests only)."""
    import tempfile

    import sqlalchemy as sa

    from lanner.storage import db

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "new.db"
        engine = sa.create_engine(f"sqlite:///{path}")
        try:
            with engine.begin() as conn:
                db.create_schema(conn)
        finally:
            engine.dispose()
        conn2 = sqlite3.connect(path)
        try:
            rows = conn2.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                                 "ORDER BY rowid").fetchall()
            tables = [r[1] for r in rows if r[0] == "table"]
            # create_all makes a table's indexes in no fixed order: by name, for a file that stays put
            ordered = sorted(rows, key=lambda r: (tables.index(r[2]), r[0] != "table", r[1]))
            ddl = ["\n".join(line.rstrip() for line in r[3].strip().splitlines()) + ";" for r in ordered]
            versions = [row[0] for row in conn2.execute("SELECT version_num FROM alembic_version")]
        finally:
            conn2.close()
    inserts = [f"INSERT INTO alembic_version (version_num) VALUES ('{v}');" for v in versions]
    header = (f"{REVISION_PREFIX}{db.HEAD_REVISION}\n"
              "-- Made by `python -m lanner.storage.new_store` from the migrations' metadata; do not edit.")
    return "\n\n".join([header, *ddl, *inserts]) + "\n"


def main() -> None:
    SCHEMA_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")


if __name__ == "__main__":
    main()
