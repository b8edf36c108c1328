"""Moderator notes about VRChat users (`/vrc note`, shown in `/vrc history` and on join-request cards).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Hand-checked against ModeratorNoteRow in bot/store/models/; like the others it does not import
the models. The lead re-chains down_revision at merge.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INDEX = "ix_moderator_notes_guild_id_group_id_vrchat_user_id_created_at"


def upgrade() -> None:
    op.create_table(
        "moderator_notes",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("vrchat_user_id", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_discord_id", sa.BigInteger(), nullable=False),
        sa.Column("author_name", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_moderator_notes"),
        sqlite_autoincrement=True,
    )
    op.create_index(INDEX, "moderator_notes", ["guild_id", "group_id", "vrchat_user_id", "created_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="moderator_notes")
    op.drop_table("moderator_notes")
