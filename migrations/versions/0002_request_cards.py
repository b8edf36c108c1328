"""Join-request cards: one row per (group, requester, requests channel), claimed by the first click.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Hand-checked against RequestCardRow in bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_cards",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("handled_by_discord_id", sa.BigInteger(), nullable=True),
        sa.Column("handled_by_name", sa.String(), nullable=True),
        sa.Column("handled_where", sa.String(length=16), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'accepted', 'rejected', 'blocked', 'gone')", name="ck_request_cards_state"
        ),
        sa.CheckConstraint("handled_where IN ('Discord', 'VRChat')", name="ck_request_cards_handled_where"),
        sa.PrimaryKeyConstraint("id", name="pk_request_cards"),
        sa.UniqueConstraint(
            "group_id", "user_id", "channel_id", name="uq_request_cards_group_id_user_id_channel_id"
        ),
    )
    op.create_index("ix_request_cards_group_id_state", "request_cards", ["group_id", "state"])


def downgrade() -> None:
    op.drop_table("request_cards")
