"""Request cards: closed_at, when the card's message took its closed look.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

Hand-checked against RequestCardRow in bot/store/models/; like 0001 it does not import the models.

The start-up pass (bot.requests.reconcile) edits every handled card whose closed_at is empty. Before
this revision it looked only at cards handled in the last 24 hours, so an older handled card was never
going to be edited again: those are marked closed here (at their handled_at), and the pass has exactly
the cards it had before, once, rather than every handled card the database ever kept.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Handled cards older than a day count as closed. SQLite stores the UTC time as naive ISO text
# ("YYYY-MM-DD HH:MM:SS.ffffff"), which sorts as text against datetime('now', ...).
_MARK_OLD_CLOSED = {
    "sqlite": (
        "UPDATE request_cards SET closed_at = handled_at WHERE state <> 'pending' "
        "AND handled_at IS NOT NULL AND handled_at < datetime('now', '-1 day')"
    ),
    "postgresql": (
        "UPDATE request_cards SET closed_at = handled_at WHERE state <> 'pending' "
        "AND handled_at IS NOT NULL AND handled_at < now() - interval '1 day'"
    ),
}


def upgrade() -> None:
    op.add_column("request_cards", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(_MARK_OLD_CLOSED[op.get_context().dialect.name])


def downgrade() -> None:
    with op.batch_alter_table("request_cards") as batch:
        batch.drop_column("closed_at")
