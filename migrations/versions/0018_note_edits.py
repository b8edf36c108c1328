"""Note edits: moderators can change or delete their notes (`/vrc note-edit`, `/vrc note-delete`);
an edited note says when it was last changed.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

Hand-checked against ModeratorNoteRow in bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("moderator_notes", sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("moderator_notes") as batch:
        batch.drop_column("edited_at")
