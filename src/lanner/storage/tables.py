"""The database schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Task runs get one row each, so recording one state change writes one small row instead of
re-writing the whole execution document (a 1,000-task execution stays linear).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

flows = sa.Table(
    "flows", metadata,
    sa.Column("namespace", sa.String(150), primary_key=True),
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("updated", sa.String(40), nullable=False),
)

executions = sa.Table(
    "executions", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("namespace", sa.String(150), nullable=False, index=True),
    sa.Column("flow_id", sa.String(100), nullable=False, index=True),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("start_date", sa.String(40), nullable=True, index=True),
    sa.Column("end_date", sa.String(40), nullable=True),
    sa.Column("data", sa.Text, nullable=False),
)

task_runs = sa.Table(
    "task_runs", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("execution_id", sa.String(40), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
)

logs = sa.Table(
    "logs", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("execution_id", sa.String(40), nullable=False, index=True),
    sa.Column("task_run_id", sa.String(40), nullable=True),
    sa.Column("task_id", sa.String(100), nullable=True),
    sa.Column("attempt", sa.Integer, nullable=True),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("timestamp", sa.String(40), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)

commands = sa.Table(
    "commands", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("execution_id", sa.String(40), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),  # resume, kill
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created", sa.String(40), nullable=False),
    sa.Column("done", sa.Boolean, nullable=False, index=True),
)

triggers = sa.Table(
    "triggers", metadata,
    sa.Column("namespace", sa.String(150), primary_key=True),
    sa.Column("flow_id", sa.String(100), primary_key=True),
    sa.Column("trigger_id", sa.String(100), primary_key=True),
    sa.Column("data", sa.Text, nullable=False),  # JSON: nextDate, lastDate, disabled, signature, …
    sa.Column("updated", sa.String(40), nullable=False),
)
