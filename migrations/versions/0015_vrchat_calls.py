"""VRChat calls: what one process asks of the process holding a VRChat account (bot.accounts.desk).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

Hand-checked against VRChatCallRow in bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "vrchat_calls",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("taken_by", sa.String(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'taken', 'done', 'dropped')", name=op.f("ck_vrchat_calls_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vrchat_calls")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_vrchat_calls_state_account"), "vrchat_calls", ["state", "account"])
    op.create_index(op.f("ix_vrchat_calls_created_at"), "vrchat_calls", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_vrchat_calls_created_at"), table_name="vrchat_calls")
    op.drop_index(op.f("ix_vrchat_calls_state_account"), table_name="vrchat_calls")
    op.drop_table("vrchat_calls")
