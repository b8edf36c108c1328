"""Session notices per account: a feed channel fed by groups of two VRChat accounts hears each
account's "session expired" alarm and each one's "back" notice (bot.feed.alerts), not only the first.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

Rows of an episode open at the upgrade keep account '' (whose they were is not known): the first
account whose session comes back in that channel claims them, as before. Hand-checked against
SessionNoticeRow in bot/store/models/; like 0001 it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The table as 0012 made it: SQLite's batch mode copies it from this rather than reflecting it, so the
# upgrade can also be written out as SQL (`alembic upgrade --sql`).
BEFORE = sa.Table(
    "session_notices",
    sa.MetaData(),
    sa.Column("channel_id", sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("channel_id", name="pk_session_notices"),
)


def upgrade() -> None:
    with op.batch_alter_table("session_notices", copy_from=BEFORE) as batch:
        batch.add_column(sa.Column("account", sa.String(), server_default=sa.text("''"), nullable=False))
        batch.drop_constraint("pk_session_notices", type_="primary")
        batch.create_primary_key("pk_session_notices", ["channel_id", "account"])


def downgrade() -> None:
    # One row per channel again: of a channel's accounts, the earliest alarm stands for them all.
    op.execute(
        "DELETE FROM session_notices WHERE EXISTS (SELECT 1 FROM session_notices AS other WHERE "
        "other.channel_id = session_notices.channel_id AND (other.alerted_at < session_notices.alerted_at "
        "OR (other.alerted_at = session_notices.alerted_at AND other.account < session_notices.account)))"
    )
    with op.batch_alter_table("session_notices") as batch:
        batch.drop_constraint("pk_session_notices", type_="primary")
        batch.create_primary_key("pk_session_notices", ["channel_id"])
        batch.drop_column("account")
