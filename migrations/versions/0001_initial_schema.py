"""Initial schema: audit log mirror, poll cursors, bindings, outbox, gaps, action log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Hand-checked against bot/store/models/; deliberately does not import it, so this revision keeps
describing the schema as it was even after the models move on. Constraint names follow the models'
naming convention (batch migrations on SQLite can only alter named constraints).
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _pk() -> sa.Column[int]:
    # 64-bit on PostgreSQL; SQLite only auto-increments a column declared INTEGER PRIMARY KEY.
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
    )


def _ts(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        _ts("created_at"),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=True),
        sa.Column("actor_display_name", sa.String(), nullable=True),
        sa.Column("target_id", sa.String(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        _ts("fetched_at"),
        sa.Column("discord_actor_id", sa.BigInteger(), nullable=True),
        sa.Column("discord_actor_name", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_group_id_created_at", "audit_entries", ["group_id", "created_at"])
    op.create_index("ix_audit_entries_actor_id", "audit_entries", ["actor_id"])
    op.create_index("ix_audit_entries_target_id", "audit_entries", ["target_id"])
    op.create_index("ix_audit_entries_event_type", "audit_entries", ["event_type"])

    op.create_table(
        "group_cursors",
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("newest_entry_id", sa.String(), nullable=True),
        _ts("newest_created_at", nullable=True),
        _ts("last_poll_at", nullable=True),
        _ts("last_success_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("backfill_done", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", name="pk_group_cursors"),
    )

    op.create_table(
        "bindings",
        _pk(),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("feed_channel_id", sa.BigInteger(), nullable=False),
        sa.Column("requests_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("moderator_role_ids", sa.JSON(), nullable=False),
        sa.Column("event_families", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("source IN ('config', 'command')", name="ck_bindings_source"),
        sa.PrimaryKeyConstraint("id", name="pk_bindings"),
        sa.UniqueConstraint("group_id", "feed_channel_id", name="uq_bindings_group_id_feed_channel_id"),
    )
    op.create_index("ix_bindings_guild_id", "bindings", ["guild_id"])

    op.create_table(
        "outbox",
        _pk(),
        sa.Column("entry_id", sa.String(), nullable=False),
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=True),
        sa.Column("discord_message_id", sa.BigInteger(), nullable=True),
        sa.Column("delayed", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("sent_at", nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'skipped')", name="ck_outbox_state"
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["audit_entries.id"], name="fk_outbox_entry_id_audit_entries", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["binding_id"], ["bindings.id"], name="fk_outbox_binding_id_bindings", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("entry_id", "channel_id", name="uq_outbox_entry_id_channel_id"),
    )
    op.create_index("ix_outbox_channel_id_state_id", "outbox", ["channel_id", "state", "id"])
    op.create_index("ix_outbox_binding_id", "outbox", ["binding_id"])

    op.create_table(
        "gaps",
        _pk(),
        sa.Column("group_id", sa.String(), nullable=False),
        _ts("start"),
        _ts("end"),
        sa.Column("reason", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gaps"),
    )
    op.create_index("ix_gaps_group_id_notified", "gaps", ["group_id", "notified"])

    op.create_table(
        "action_log",
        _pk(),
        _ts("created_at"),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=False),
        sa.Column("discord_user_name", sa.String(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("outcome IN ('ok', 'error')", name="ck_action_log_outcome"),
        sa.PrimaryKeyConstraint("id", name="pk_action_log"),
    )
    op.create_index("ix_action_log_guild_id_created_at", "action_log", ["guild_id", "created_at"])
    op.create_index("ix_action_log_discord_user_id", "action_log", ["discord_user_id"])


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes with it.
    op.drop_table("action_log")
    op.drop_table("gaps")
    op.drop_table("outbox")
    op.drop_table("bindings")
    op.drop_table("group_cursors")
    op.drop_table("audit_entries")
