"""The cluster's queues: worker jobs, executor events, worker heartbeats, leases, execution changes.

Also `executions.version`, bumped by each cluster executor write, so that an executor can keep
an execution in memory between events and notice when another executor changed it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("executions", sa.Column("version", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "queue_jobs",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("execution_id", sa.String(40), nullable=False, index=True),
        sa.Column("task_run_id", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("worker_group", sa.String(100), nullable=False, server_default=""),
        sa.Column("namespace", sa.String(150), nullable=False),
        sa.Column("flow_id", sa.String(100), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True, index=True),
        sa.Column("claimed_at", sa.Float, nullable=True),
        sa.Column("cancel", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created", sa.Float, nullable=False),
        sa.UniqueConstraint("task_run_id", "attempt", name="uq_queue_jobs_attempt"),
    )
    op.create_index("ix_queue_jobs_pending", "queue_jobs", ["worker_group", "seq"])
    op.create_table(
        "queue_events",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("execution_id", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("due", sa.Float, nullable=False, index=True),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("worker_group", sa.String(100), nullable=False, server_default=""),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("threads", sa.Integer, nullable=False),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("heartbeat", sa.Float, nullable=False, index=True),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
    )
    op.create_table(
        "execution_changes",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False, index=True),
    )


def downgrade() -> None:
    for name in ("execution_changes", "leases", "workers", "queue_events", "queue_jobs"):
        op.drop_table(name)
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("version")
