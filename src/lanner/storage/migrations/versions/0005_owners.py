"""One owner per execution: the processes that drive executions, and durable attempt results.

`owners` has a row per process that drives executions (`lanner run`, `lanner server local`, a
`lanner execution continue`): where it runs (host, boot id, pid, process start time: a reused pid
is told apart) and its last heartbeat. `executions.owner` names the process that drives an
execution and `executions.owner_epoch` counts takeovers: every write of the owner is fenced by it,
so a stale owner's late write is refused instead of merged.

`attempt_results` keeps the result of each finished attempt from the moment its worker returns,
so a crash after a task finished continues from its result instead of running it again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "owners",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("boot_id", sa.String(64), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started", sa.BigInteger, nullable=False),
        sa.Column("what", sa.String(100), nullable=False),
        sa.Column("heartbeat", sa.Float, nullable=False),
    )
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("owner", sa.String(40), nullable=True, index=True))
        batch.add_column(sa.Column("owner_epoch", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "attempt_results",
        sa.Column("task_run_id", sa.String(40), primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("execution_id", sa.String(40), nullable=False, index=True),
        sa.Column("data", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("attempt_results")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("owner_epoch")
        batch.drop_column("owner")
    op.drop_table("owners")
