"""Process states and group wakes: what each bot process runs, for /bridge status, and the per-group
counters that carry a moderator's command to the process polling the group.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Hand-checked against ProcessStateRow and GroupWakeRow in bot/store/models/; like 0001 it does not
import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "process_states",
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("owner", name="pk_process_states"),
    )
    op.create_table(
        "group_wakes",
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("wakes", sa.BigInteger(), nullable=False),
        sa.Column("woken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_id", name="pk_group_wakes"),
    )


def downgrade() -> None:
    op.drop_table("group_wakes")
    op.drop_table("process_states")
