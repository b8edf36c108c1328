"""Set-aside audit entries: what the mirror could not read, store, render or send, and why.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-12

Hand-checked against SetAsideRow in bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "set_aside_entries",
        sa.Column("entry_id", sa.String(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "stage IN ('parse', 'store', 'render', 'send')", name="ck_set_aside_entries_stage"
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["audit_entries.id"],
            name="fk_set_aside_entries_entry_id_audit_entries",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", name="pk_set_aside_entries"),
    )
    op.create_index(
        "ix_set_aside_entries_group_id_created_at", "set_aside_entries", ["group_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_set_aside_entries_group_id_created_at", table_name="set_aside_entries")
    op.drop_table("set_aside_entries")
