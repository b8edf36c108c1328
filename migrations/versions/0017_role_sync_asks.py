"""Role-sync asks: a Discord member's roles changed in the gateway process, while another process
holds the group's role sync (bot.roles.loop): the gateway writes an ask, the holder reconciles that
member at its next tick.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Hand-checked against RoleSyncAskRow in bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "role_sync_asks",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("vrchat_user_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["binding_id"],
            ["bindings.id"],
            name=op.f("fk_role_sync_asks_binding_id_bindings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_sync_asks")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_role_sync_asks_created_at"), "role_sync_asks", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_role_sync_asks_created_at"), table_name="role_sync_asks")
    op.drop_table("role_sync_asks")
