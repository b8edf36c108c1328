"""Role sync: per-binding settings, role mappings, what both sides last agreed on, the write journal.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-16

Hand-checked against RoleSyncSettingsRow, RoleMappingRow, RoleSyncHeldRow and RoleSyncWriteRow in
bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _binding_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["binding_id"], ["bindings.id"], name=op.f(f"fk_{table}_binding_id_bindings"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "role_sync_settings",
        sa.Column("binding_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("membership_role_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mode IN ('off', 'shadow', 'on')", name=op.f("ck_role_sync_settings_mode")),
        _binding_fk("role_sync_settings"),
        sa.PrimaryKeyConstraint("binding_id", name=op.f("pk_role_sync_settings")),
    )
    op.create_table(
        "role_mappings",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("vrchat_role_id", sa.String(), nullable=False),
        sa.Column("discord_role_id", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.String(length=20), nullable=False),
        sa.Column("source_of_truth", sa.String(length=8), nullable=False),
        sa.Column("allow_management", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "direction IN ('vrchat_to_discord', 'discord_to_vrchat', 'both')",
            name=op.f("ck_role_mappings_direction"),
        ),
        sa.CheckConstraint(
            "source_of_truth IN ('vrchat', 'discord')", name=op.f("ck_role_mappings_source_of_truth")
        ),
        _binding_fk("role_mappings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_mappings")),
        sa.UniqueConstraint(
            "binding_id", "vrchat_role_id", name=op.f("uq_role_mappings_binding_id_vrchat_role_id")
        ),
        sa.UniqueConstraint(
            "binding_id", "discord_role_id", name=op.f("uq_role_mappings_binding_id_discord_role_id")
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "role_sync_held",
        sa.Column("binding_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("mapping_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("vrchat_user_id", sa.String(), nullable=False),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _binding_fk("role_sync_held"),
        sa.PrimaryKeyConstraint("binding_id", "mapping_id", "vrchat_user_id", name=op.f("pk_role_sync_held")),
    )
    op.create_table(
        "role_sync_writes",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("role_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("side IN ('vrchat', 'discord')", name=op.f("ck_role_sync_writes_side")),
        sa.CheckConstraint("op IN ('add', 'remove')", name=op.f("ck_role_sync_writes_op")),
        sa.CheckConstraint("state IN ('pending', 'refused')", name=op.f("ck_role_sync_writes_state")),
        _binding_fk("role_sync_writes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_sync_writes")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_role_sync_writes_binding_id_state", "role_sync_writes", ["binding_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_role_sync_writes_binding_id_state", table_name="role_sync_writes")
    op.drop_table("role_sync_writes")
    op.drop_table("role_sync_held")
    op.drop_table("role_mappings")
    op.drop_table("role_sync_settings")
