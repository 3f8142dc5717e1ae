"""Alembic environment: runs against the connection Lanner hands it (SQLite or PostgreSQL)."""

from __future__ import annotations

from alembic import context

from lanner.storage.tables import metadata

connection = context.config.attributes.get("connection")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
