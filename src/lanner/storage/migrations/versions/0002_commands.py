"""Commands to executions owned by another process (`lanner execution resume|kill ID`)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "commands",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("execution_id", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("done", sa.Boolean, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("commands")
