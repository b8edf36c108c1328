"""Discord bans (and kicks) carried to VRChat: ban prompts and each binding's setting (bot.banbridge).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Hand-checked against BanPromptRow and BanSettingRow in bot/store/models/; like 0001 it does not
import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATES = "'auto', 'open', 'banning', 'banned', 'dismissed', 'lifted'"


def upgrade() -> None:
    op.create_table(
        "ban_prompts",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=False),
        sa.Column("vrchat_user_id", sa.String(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("handled_by_discord_id", sa.BigInteger(), nullable=True),
        sa.Column("handled_by_name", sa.String(length=200), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"state IN ({STATES})", name=op.f("ck_ban_prompts_state")),
        sa.ForeignKeyConstraint(
            ["binding_id"], ["bindings.id"], name="fk_ban_prompts_binding_id_bindings", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ban_prompts"),
        sa.UniqueConstraint(
            "guild_id", "group_id", "discord_user_id", name="uq_ban_prompts_guild_id_group_id_discord_user_id"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ban_prompts_message_id", "ban_prompts", ["message_id"])
    op.create_table(
        "ban_settings",
        sa.Column("binding_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("discord_ban", sa.String(length=8), nullable=False),
        sa.Column("discord_kick", sa.String(length=8), nullable=False),
        sa.Column("prompt_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_by", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "discord_ban IN ('off', 'prompt', 'ban')", name=op.f("ck_ban_settings_discord_ban")
        ),
        sa.CheckConstraint("discord_kick IN ('off', 'prompt')", name=op.f("ck_ban_settings_discord_kick")),
        sa.ForeignKeyConstraint(
            ["binding_id"], ["bindings.id"], name="fk_ban_settings_binding_id_bindings", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("binding_id", name="pk_ban_settings"),
    )


def downgrade() -> None:
    op.drop_table("ban_settings")
    op.drop_index("ix_ban_prompts_message_id", table_name="ban_prompts")
    op.drop_table("ban_prompts")
