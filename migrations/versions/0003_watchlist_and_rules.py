"""Per-binding watchlists of VRChat groups (shown on join-request cards) and join-request rules.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Hand-checked against WatchlistRow, RequestRuleRow and RuleSettingsRow in bot/store/models/;
like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "watchlist",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("added_by_discord_id", sa.BigInteger(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["binding_id"], ["bindings.id"], name="fk_watchlist_binding_id_bindings", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_watchlist"),
        sa.UniqueConstraint("binding_id", "group_id", name="uq_watchlist_binding_id_group_id"),
    )
    op.create_table(
        "request_rules",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("parameter", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('age_verified', 'trust_at_least', 'account_age_days_at_least', "
            "'in_watchlisted_group', 'keyword')",
            name="ck_request_rules_kind",
        ),
        sa.CheckConstraint("outcome IN ('accept', 'reject', 'hold')", name="ck_request_rules_outcome"),
        sa.ForeignKeyConstraint(
            ["binding_id"], ["bindings.id"], name="fk_request_rules_binding_id_bindings", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_request_rules"),
        sa.UniqueConstraint("binding_id", "position", name="uq_request_rules_binding_id_position"),
    )
    op.create_table(
        "rule_settings",
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["binding_id"], ["bindings.id"], name="fk_rule_settings_binding_id_bindings", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("binding_id", name="pk_rule_settings"),
    )


def downgrade() -> None:
    op.drop_table("rule_settings")
    op.drop_table("request_rules")
    op.drop_table("watchlist")
