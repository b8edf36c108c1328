"""Discord audit marks: per server, the newest entry of Discord's audit log the bot has taken in, so
that bans, unbans and kicks made while no bot process was connected are caught up at the next
connection (bot.banbridge).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

Hand-checked against DiscordAuditMarkRow in bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "discord_audit_marks",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_entry_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_discord_audit_marks")),
    )


def downgrade() -> None:
    op.drop_table("discord_audit_marks")
