"""Request cards: claimed_by, the process whose Discord decision claimed the card.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

Hand-checked against RequestCardRow in bot/store/models/; like 0001 it does not import the models.

A claim whose process died before it called VRChat is settled as soon as that process holds no lease
(bot.requests.claims). Claims made before this revision have no claimed_by and keep the earlier rule.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("request_cards", sa.Column("claimed_by", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_cards") as batch:
        batch.drop_column("claimed_by")
