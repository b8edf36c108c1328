"""Discord-VRChat links, their one-time codes and attempt caps; the linked_in_server rule condition.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-15

Hand-checked against DiscordLinkRow, LinkCodeRow, LinkAttemptRow and RequestRuleRow in
bot/store/models/; like 0001 it does not import the models. The request_rules CHECK constraint
gains 'linked_in_server' (SQLite rewrites the table for that, in batch mode); going down deletes the
rules of that kind first, since the older constraint cannot hold them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_KINDS = "'age_verified', 'trust_at_least', 'account_age_days_at_least', 'in_watchlisted_group', 'keyword'"
NEW_KINDS = f"{OLD_KINDS}, 'linked_in_server'"


# Revision 0003 named the CHECK constraints without op.f(), so the naming convention prefixed them
# again: this is the name the kind constraint has on both backends up to 0005. Upgraded, it gets the
# name the models give it.
KIND_0005 = "ck_request_rules_ck_request_rules_kind"
KIND_0006 = "ck_request_rules_kind"


def _request_rules(kinds: str, kind_name: str) -> sa.Table:
    """request_rules as it is before the change: batch mode copies from this instead of reflecting
    the table (so `alembic upgrade --sql` works on SQLite too). The other names are 0003's, as built."""
    return sa.Table(
        "request_rules",
        sa.MetaData(),
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("binding_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("parameter", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN ({kinds})", name=kind_name),
        sa.CheckConstraint(
            "outcome IN ('accept', 'reject', 'hold')", name="ck_request_rules_ck_request_rules_outcome"
        ),
        sa.ForeignKeyConstraint(
            ["binding_id"], ["bindings.id"], name="fk_request_rules_binding_id_bindings", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_request_rules"),
        sa.UniqueConstraint("binding_id", "position", name="uq_request_rules_binding_id_position"),
    )


def _rule_kinds(before: tuple[str, str], after: tuple[str, str]) -> None:
    (old_kinds, old_name), (new_kinds, new_name) = before, after
    with op.batch_alter_table("request_rules", copy_from=_request_rules(old_kinds, old_name)) as batch:
        # op.f: the names as written; the naming convention would prefix them again.
        batch.drop_constraint(op.f(old_name), type_="check")
        batch.create_check_constraint(op.f(new_name), f"kind IN ({new_kinds})")


def upgrade() -> None:
    op.create_table(
        "discord_links",
        sa.Column("discord_user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("vrchat_user_id", sa.String(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("discord_user_id", name="pk_discord_links"),
        sa.UniqueConstraint("vrchat_user_id", name="uq_discord_links_vrchat_user_id"),
    )
    op.create_table(
        "link_codes",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=False),
        sa.Column("vrchat_user_id", sa.String(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_link_codes"),
        sa.UniqueConstraint("discord_user_id", name="uq_link_codes_discord_user_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "link_attempts",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('issue', 'verify')", name=op.f("ck_link_attempts_kind")),
        sa.PrimaryKeyConstraint("id", name="pk_link_attempts"),
    )
    op.create_index(
        "ix_link_attempts_discord_user_id_kind_at", "link_attempts", ["discord_user_id", "kind", "at"]
    )
    op.create_index("ix_link_attempts_at", "link_attempts", ["at"])
    _rule_kinds((OLD_KINDS, KIND_0005), (NEW_KINDS, KIND_0006))


def downgrade() -> None:
    op.execute("DELETE FROM request_rules WHERE kind = 'linked_in_server'")
    _rule_kinds((NEW_KINDS, KIND_0006), (OLD_KINDS, KIND_0005))
    op.drop_index("ix_link_attempts_at", table_name="link_attempts")
    op.drop_index("ix_link_attempts_discord_user_id_kind_at", table_name="link_attempts")
    op.drop_table("link_attempts")
    op.drop_table("link_codes")
    op.drop_table("discord_links")
