"""Trigger state for the scheduler: next fire time, stopAfter disabling, precondition progress."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "triggers",
        sa.Column("namespace", sa.String(150), primary_key=True),
        sa.Column("flow_id", sa.String(100), primary_key=True),
        sa.Column("trigger_id", sa.String(100), primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("updated", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("triggers")
