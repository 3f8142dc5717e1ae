"""A new store gets the head schema at once, and that schema is the one the migrations build.

Alembic is the schema's source of truth: a new database is made with `create_all` and stamped
(`db.create_schema`), a new embedded store from the same schema kept as SQL text
(`storage/new_store.py`). Each must equal, table by table, a database migrated from nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lanner.storage import db, new_store
from tests.integration.cluster.databases import postgres_url, unavailable


def _schema(engine: sa.Engine) -> dict[str, Any]:
    """Every table's columns (type, nullability, server default), keys, indexes, and the stamped revision."""
    insp = sa.inspect(engine)
    tables: dict[str, Any] = {}
    for name in sorted(insp.get_table_names()):
        tables[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                        for c in insp.get_columns(name)],
            "primary key": insp.get_pk_constraint(name)["constrained_columns"],
            "foreign keys": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]),
                                    str(f.get("options"))) for f in insp.get_foreign_keys(name)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(name)),
            "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(name)),
        }
    with engine.connect() as conn:
        tables["revision"] = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return tables


def _migrated_step_by_step(engine: sa.Engine) -> None:
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(db.alembic_config(conn), "head")


def test_the_shipped_sqlite_schema_is_what_create_all_and_stamp_make_now() -> None:
    assert new_store.SCHEMA_FILE.read_text(encoding="utf-8") == new_store.render(), (
        "src/lanner/storage/sqlite_schema.sql is stale: write it again with `python -m lanner.storage.new_store`")


def test_a_new_embedded_store_equals_one_migrated_from_nothing(tmp_path: Path) -> None:
    db.open_embedded(tmp_path / "new.db")
    migrated = sa.create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    created = sa.create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        _migrated_step_by_step(migrated)
        assert _schema(created) == _schema(migrated)
        assert _schema(created)["revision"] == [db.HEAD_REVISION]
    finally:
        migrated.dispose()
        created.dispose()


def test_a_new_embedded_store_is_made_without_importing_sqlalchemy_or_alembic(tmp_path: Path) -> None:
    code = ("import sys; from lanner.storage import db; db.open_embedded(__import__('pathlib').Path(sys.argv[1])); "
            "print(sorted(m for m in ('sqlalchemy', 'alembic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "lanner.db")], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_a_schema_file_of_another_revision_is_never_used(tmp_path: Path) -> None:
    target = tmp_path / "lanner.db"
    assert new_store.create(target, head="9999") is False
    assert not target.exists() or target.stat().st_size == 0


@pytest.fixture
def two_postgres_databases() -> Iterator[tuple[str, str]]:
    try:
        import psycopg

        admin = psycopg.connect(postgres_url(), autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - no server (or no driver) is a reason to skip, said
        unavailable(f"{postgres_url()} is unreachable: {exc}")
        raise
    names = [f"lanner_schema_{side}_{__import__('os').getpid()}" for side in ("created", "migrated")]
    base = postgres_url().rpartition("/")[0]
    try:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_create_schema_on_postgresql_equals_the_migrations(two_postgres_databases: tuple[str, str]) -> None:
    from lanner.storage.cluster_db import sqlalchemy_url

    created_url, migrated_url = two_postgres_databases
    created = sa.create_engine(sqlalchemy_url(created_url))
    migrated = sa.create_engine(sqlalchemy_url(migrated_url))
    try:
        db.upgrade(created)  # an empty database: created at once and stamped
        _migrated_step_by_step(migrated)
        assert _schema(created) == _schema(migrated)
        assert _schema(created)["revision"] == [db.HEAD_REVISION]
    finally:
        created.dispose()
        migrated.dispose()
