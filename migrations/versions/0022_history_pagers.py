"""History pagers: the pages of a `/vrc history` reply seen so far, so that its ◂ Prev / Next ▸
buttons (which carry only the row's id and a page number) keep working after a restart.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

Hand-checked against HistoryPagerRow in bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INDEX = "ix_history_pagers_used_at"


def upgrade() -> None:
    op.create_table(
        "history_pagers",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("opener_discord_id", sa.BigInteger(), nullable=False),
        sa.Column("cursors", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_history_pagers"),
        sqlite_autoincrement=True,
    )
    op.create_index(INDEX, "history_pagers", ["used_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="history_pagers")
    op.drop_table("history_pagers")
