"""Initial schema: flows, executions, task runs, logs."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("namespace", sa.String(150), primary_key=True),
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("updated", sa.String(40), nullable=False),
    )
    op.create_table(
        "executions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("namespace", sa.String(150), nullable=False, index=True),
        sa.Column("flow_id", sa.String(100), nullable=False, index=True),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("start_date", sa.String(40), nullable=True, index=True),
        sa.Column("end_date", sa.String(40), nullable=True),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "task_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("execution_id", sa.String(40), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "logs",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("execution_id", sa.String(40), nullable=False, index=True),
        sa.Column("task_run_id", sa.String(40), nullable=True),
        sa.Column("task_id", sa.String(100), nullable=True),
        sa.Column("attempt", sa.Integer, nullable=True),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("timestamp", sa.String(40), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("logs", "task_runs", "executions", "flows"):
        op.drop_table(name)
