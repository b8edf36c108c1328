"""Session notices: the feed channels that heard the open episode's "session expired" alert.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Hand-checked against SessionNoticeRow in bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_notices",
        sa.Column("channel_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name="pk_session_notices"),
    )


def downgrade() -> None:
    op.drop_table("session_notices")
