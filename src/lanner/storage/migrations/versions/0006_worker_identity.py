"""Workers record which machine and which process they are (host key, process start time).

A silent worker on the reaper's own machine is declared dead only when its process is gone, or
its pid now names another process; a stopped or busy worker keeps its attempts. See
`runtime/process_identity.py`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("host_key", sa.String(100), nullable=True))
        batch.add_column(sa.Column("pid_start", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("pid_start")
        batch.drop_column("host_key")
