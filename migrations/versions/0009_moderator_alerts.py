"""Alerts on runaway moderators: per-binding thresholds and the episodes the watchdog alerted on.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Hand-checked against AlertSettingsRow and ModeratorAlertRow in bot/store/models/; like 0001 it does
not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "moderator_alert_settings",
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("max_kicks", sa.Integer(), nullable=False),
        sa.Column("max_bans", sa.Integer(), nullable=False),
        sa.Column("max_role_removals", sa.Integer(), nullable=False),
        sa.Column("alert_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("ping_role_id", sa.BigInteger(), nullable=True),
        sa.Column("auto_kill_switch", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["binding_id"],
            ["bindings.id"],
            name=op.f("fk_moderator_alert_settings_binding_id_bindings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("binding_id", name=op.f("pk_moderator_alert_settings")),
    )
    op.create_table(
        "moderator_alerts",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("actor_key", sa.String(), nullable=False),
        sa.Column("actor_vrchat_id", sa.String(), nullable=True),
        sa.Column("actor_discord_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_entry_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("entry_ids", sa.JSON(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed')", name=op.f("ck_moderator_alerts_state")
        ),
        sa.CheckConstraint(
            "resolution IN ('dismissed', 'roles_removed')", name=op.f("ck_moderator_alerts_resolution")
        ),
        sa.ForeignKeyConstraint(
            ["binding_id"],
            ["bindings.id"],
            name=op.f("fk_moderator_alerts_binding_id_bindings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderator_alerts")),
        sa.UniqueConstraint(
            "binding_id",
            "actor_key",
            "started_at",
            name=op.f("uq_moderator_alerts_binding_id_actor_key_started_at"),
        ),
    )
    op.create_index(op.f("ix_moderator_alerts_state"), "moderator_alerts", ["state"])
    op.create_index(
        op.f("ix_moderator_alerts_binding_id_actor_key_last_entry_at"),
        "moderator_alerts",
        ["binding_id", "actor_key", "last_entry_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_moderator_alerts_binding_id_actor_key_last_entry_at"), table_name="moderator_alerts"
    )
    op.drop_index(op.f("ix_moderator_alerts_state"), table_name="moderator_alerts")
    op.drop_table("moderator_alerts")
    op.drop_table("moderator_alert_settings")
