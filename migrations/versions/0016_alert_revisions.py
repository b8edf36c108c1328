"""Alert revisions: an episode extended after its alert was posted gets its message edited
(bot.watchdog.loop): `revision` counts the extensions, `shown_revision` is what the message shows.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Hand-checked against ModeratorAlertRow in bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Alerts posted before this revision show what they show: both start at 0, nothing to edit.
    for column in ("revision", "shown_revision"):
        op.add_column("moderator_alerts", sa.Column(column, sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("moderator_alerts") as batch:
        batch.drop_column("shown_revision")
        batch.drop_column("revision")
