"""Instance reports: what a binding's age-gate policy reported or closed, once each.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Hand-checked against InstanceReportRow in bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "instance_reports",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("world_name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_by_discord_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'reported', 'closing', 'closed', 'gone')",
            name=op.f("ck_instance_reports_state"),
        ),
        sa.ForeignKeyConstraint(
            ["binding_id"],
            ["bindings.id"],
            name=op.f("fk_instance_reports_binding_id_bindings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_reports")),
        sa.UniqueConstraint("binding_id", "location", name=op.f("uq_instance_reports_binding_id_location")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_instance_reports_created_at"), "instance_reports", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_instance_reports_created_at"), table_name="instance_reports")
    op.drop_table("instance_reports")
