"""Table definitions (SQLAlchemy 2 declarative), portable across SQLite and PostgreSQL.

The migrations in migrations/versions must produce exactly this schema; tests/store/test_migrations.py
runs alembic's autogenerate comparison on both backends to keep the two from drifting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Explicit constraint names: SQLite batch migrations can only drop/alter constraints that have names,
# and identical names on both backends keep the autogenerate comparison meaningful.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on every backend.

    SQLite has no timezone type: SQLAlchemy would silently drop the offset of an aware value, so we
    normalise to UTC first and store it naive; the fixed-width ISO text it writes sorts correctly.
    Naive input is refused rather than guessed at: it is always a bug upstream.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store only accepts timezone-aware values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Surrogate keys: 64-bit on PostgreSQL, but SQLite only auto-increments a column declared INTEGER.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
# Python None stored as SQL NULL rather than the JSON literal 'null'.
JSONValue = JSON(none_as_null=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONValue,
        list[Any]: JSONValue,
    }


class AuditEntryRow(Base):
    __tablename__ = "audit_entries"

    id: Mapped[str] = mapped_column(String, primary_key=True)  # VRChat 'gaud_...' id
    group_id: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime]
    event_type: Mapped[str] = mapped_column(String)
    actor_id: Mapped[str | None] = mapped_column(String)
    actor_display_name: Mapped[str | None] = mapped_column(String)
    # Instance ids can be long ('wrld_..:123~group(grp_..)~region(eu)'), hence unbounded strings.
    target_id: Mapped[str | None] = mapped_column(String)
    description: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]
    fetched_at: Mapped[datetime]
    # Set when the bot performed the action on behalf of a Discord moderator.
    discord_actor_id: Mapped[int | None] = mapped_column(BigInteger)
    discord_actor_name: Mapped[str | None] = mapped_column(String)

    __table_args__ = (
        Index(None, "group_id", "created_at"),
        Index(None, "actor_id"),
        Index(None, "target_id"),
        Index(None, "event_type"),
    )


class GroupCursorRow(Base):
    __tablename__ = "group_cursors"

    group_id: Mapped[str] = mapped_column(String, primary_key=True)
    newest_entry_id: Mapped[str | None] = mapped_column(String)
    newest_created_at: Mapped[datetime | None]
    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    backfill_done: Mapped[bool] = mapped_column(Boolean, default=False)


class BindingRow(Base):
    __tablename__ = "bindings"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    feed_channel_id: Mapped[int] = mapped_column(BigInteger)
    requests_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    moderator_role_ids: Mapped[list[Any]]
    event_families: Mapped[list[Any]]
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("group_id", "feed_channel_id"),
        Index(None, "guild_id"),
        CheckConstraint("source IN ('config', 'command')", name="source"),
    )


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # CASCADE: removing a binding drops its queue; retention purges sent rows with their entries.
    entry_id: Mapped[str] = mapped_column(ForeignKey("audit_entries.id", ondelete="CASCADE"))
    binding_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    nonce: Mapped[str | None] = mapped_column(String(64))
    discord_message_id: Mapped[int | None] = mapped_column(BigInteger)
    delayed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("entry_id", "channel_id"),
        Index(None, "channel_id", "state", "id"),
        # The binding FK has no index of its own otherwise; cascades and pause joins use it.
        Index(None, "binding_id"),
        CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed', 'skipped')", name="state"),
    )


class SetAsideRow(Base):
    """An audit entry the mirror could not read, store, render or send as it is (bot.store.set_aside).

    Its audit_entries row is then a placeholder (what could be kept of it) or the entry itself, and
    its outbox rows post a short notice in its place; this row keeps why, and what VRChat sent.
    """

    __tablename__ = "set_aside_entries"

    entry_id: Mapped[str] = mapped_column(
        ForeignKey("audit_entries.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(String)
    stage: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)  # JSON text, ASCII only: always storable
    created_at: Mapped[datetime]

    __table_args__ = (
        Index(None, "group_id", "created_at"),
        CheckConstraint("stage IN ('parse', 'store', 'render', 'send')", name="stage"),
    )


class GapRow(Base):
    __tablename__ = "gaps"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String)
    start: Mapped[datetime]
    end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    notified: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index(None, "group_id", "notified"),)


class ActionLogRow(Base):
    __tablename__ = "action_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    guild_id: Mapped[int | None] = mapped_column(BigInteger)
    discord_user_id: Mapped[int] = mapped_column(BigInteger)
    discord_user_name: Mapped[str] = mapped_column(String)
    group_id: Mapped[str | None] = mapped_column(String)
    action: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String)
    details: Mapped[dict[str, Any] | None]
    outcome: Mapped[str] = mapped_column(String(8))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(None, "guild_id", "created_at"),
        Index(None, "discord_user_id"),
        CheckConstraint("outcome IN ('ok', 'error')", name="outcome"),
    )


class RequestCardRow(Base):
    """A join request shown as a card (a Discord message with buttons) in a requests channel.

    One row per (group, requester, channel). ``state`` leaves 'pending' exactly once, through a
    conditional UPDATE (bot.store.cards.CardOps.claim_card): that is what makes the first click win,
    across processes too. channel_id 0 is a claim made where no card was posted (a slash command).
    """

    __tablename__ = "request_cards"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String)
    user_id: Mapped[str] = mapped_column(String)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    display_name: Mapped[str | None] = mapped_column(String)
    # When the user asked to join, as VRChat reports it: audit entries older than this are about
    # an earlier request of the same user.
    requested_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16))
    handled_by_discord_id: Mapped[int | None] = mapped_column(BigInteger)
    handled_by_name: Mapped[str | None] = mapped_column(String)
    handled_where: Mapped[str | None] = mapped_column(String(16))
    handled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]  # when the message took its closed look (None: not known to)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("group_id", "user_id", "channel_id"),
        Index(None, "group_id", "state"),
        CheckConstraint("state IN ('pending', 'accepted', 'rejected', 'blocked', 'gone')", name="state"),
        CheckConstraint("handled_where IN ('Discord', 'VRChat')", name="handled_where"),
    )


class WatchlistRow(Base):
    """A VRChat group a server's admins want to hear about when a requester is in it. Per binding:
    never shared with another binding (or server) watching the same VRChat group."""

    __tablename__ = "watchlist"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    binding_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(String)  # the watched group, grp_…
    note: Mapped[str] = mapped_column(String(200))
    added_by_discord_id: Mapped[int] = mapped_column(BigInteger)
    added_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("binding_id", "group_id"),)


class RequestRuleRow(Base):
    """One automatic join-request rule of a binding; the lowest position that matches decides."""

    __tablename__ = "request_rules"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    binding_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # shown as the rule's number; max + 1 when added
    kind: Mapped[str] = mapped_column(String(32))
    parameter: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("binding_id", "position"),
        CheckConstraint(
            "kind IN ('age_verified', 'trust_at_least', 'account_age_days_at_least', "
            "'in_watchlisted_group', 'keyword', 'linked_in_server')",
            name="kind",
        ),
        CheckConstraint("outcome IN ('accept', 'reject', 'hold')", name="outcome"),
    )


class RuleSettingsRow(Base):
    """Per-binding rule settings; no row means the defaults (shadow mode off)."""

    __tablename__ = "rule_settings"

    binding_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"), primary_key=True
    )
    shadow: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class InstanceReportRow(Base):
    """A group instance the binding's age-gate policy acted on, once: reported to the moderators (with
    a Close button whose custom_id carries this row's id) or closed automatically."""

    __tablename__ = "instance_reports"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    binding_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(String)
    location: Mapped[str] = mapped_column(String)  # worldId:instanceId (long: unbounded)
    world_name: Mapped[str] = mapped_column(String(200))
    # pending: claimed, not yet posted; reported: posted with a Close button; closing: an automatic
    # close under way; closed: closed (by the bot); gone: closed elsewhere before anyone clicked.
    state: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    handled_at: Mapped[datetime | None]
    handled_by_discord_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("binding_id", "location"),
        Index(None, "created_at"),
        CheckConstraint("state IN ('pending', 'reported', 'closing', 'closed', 'gone')", name="state"),
        # Ids are never reused: an old Close button must not reach a newer report.
        {"sqlite_autoincrement": True},
    )


class LeaseRow(Base):
    """Which process runs a piece of work now: a group's poller, a channel's delivery, a process's
    presence (bot.store.leases). Taken and renewed only by LeaseOps.acquire_leases' single upsert."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String, primary_key=True)  # 'group:grp_…', 'channel:123', …
    owner: Mapped[str] = mapped_column(String)  # host:pid:random of the holding process
    acquired_at: Mapped[datetime]  # when this owner took it; renewals keep it
    expires_at: Mapped[datetime]
    # A fencing token: +1 each time the lease changes hands, so each tenure has its own number.
    generation: Mapped[int] = mapped_column(BigInteger)


class DiscordLinkRow(Base):
    """A verified link between one Discord account and one VRChat account (bot.links).

    For the whole deployment, not per server: a link says who a person is. Each side appears at most
    once (the primary key and the unique constraint), so two verifications racing for the same
    account cannot both commit. Only IDs and a time: nothing else about either account is kept.
    """

    __tablename__ = "discord_links"

    discord_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    vrchat_user_id: Mapped[str] = mapped_column(String)
    linked_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("vrchat_user_id"),)


class LinkCodeRow(Base):
    """The one open (or just used) link code of a Discord user: whom it was issued to, for which VRChat
    account, until when, and a SHA-256 digest of it (never the code). A new code replaces the row, with
    a new id: ids never come back (AUTOINCREMENT on SQLite), so an old Verify button cannot reach a
    newer code."""

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    discord_user_id: Mapped[int] = mapped_column(BigInteger)
    vrchat_user_id: Mapped[str] = mapped_column(String)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("discord_user_id"), {"sqlite_autoincrement": True})


class LinkAttemptRow(Base):
    """One code issued or one verification tried, for the hourly caps; rows older than the window go."""

    __tablename__ = "link_attempts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    discord_user_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime]

    __table_args__ = (
        Index(None, "discord_user_id", "kind", "at"),
        Index(None, "at"),
        CheckConstraint("kind IN ('issue', 'verify')", name="kind"),
    )


class BanPromptRow(Base):
    """A Discord ban of a linked member, to be carried to one VRChat group (bot.banbridge).

    One row per (server, group, Discord user): the row is written before the card is posted, so a
    crash can neither lose the prompt nor post it twice (the card's nonce and footer carry the row id
    and `round`). `round` grows when the ban is lifted and a new ban reuses the row, so a button of an
    older card no longer acts. IDs, times and who decided: nothing else about either account."""

    __tablename__ = "ban_prompts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    binding_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"))
    guild_id: Mapped[int] = mapped_column(BigInteger)
    group_id: Mapped[str] = mapped_column(String)
    discord_user_id: Mapped[int] = mapped_column(BigInteger)
    vrchat_user_id: Mapped[str] = mapped_column(String)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    # What brought the prompt: "ban", or "kick:<Discord audit entry id>" (each kick is its own).
    trigger: Mapped[str] = mapped_column(String(64))
    round: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    handled_by_discord_id: Mapped[int | None] = mapped_column(BigInteger)
    handled_by_name: Mapped[str | None] = mapped_column(String(200))
    handled_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("guild_id", "group_id", "discord_user_id"),
        Index(None, "message_id"),
        CheckConstraint(
            "state IN ('auto', 'open', 'banning', 'banned', 'dismissed', 'lifted')", name="state"
        ),
        {"sqlite_autoincrement": True},
    )


class BanSettingRow(Base):
    """How a binding carries Discord bans to VRChat: 'off', 'prompt' (the default, no row needed) or
    'ban' (automatic); kicks: 'off' (the default) or 'prompt'; where the cards go (None: the binding's
    requests channel)."""

    __tablename__ = "ban_settings"

    binding_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    discord_ban: Mapped[str] = mapped_column(String(8))
    discord_kick: Mapped[str] = mapped_column(String(8))
    prompt_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_by: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("discord_ban IN ('off', 'prompt', 'ban')", name="discord_ban"),
        CheckConstraint("discord_kick IN ('off', 'prompt')", name="discord_kick"),
    )


class SessionNoticeRow(Base):
    """A feed channel that got the "VRChat session expired" notice of the episode still open
    (bot.feed.alerts): it gets the "back" notice when the session returns, after a restart too, and
    not a second alarm while the episode lasts."""

    __tablename__ = "session_notices"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    alerted_at: Mapped[datetime]


class ModeratorNoteRow(Base):
    """A note a Discord moderator wrote about a VRChat user (bot.desk: `/vrc note`, shown in
    `/vrc history` and on the user's next join-request card).

    Kept per server and group: notes are the server's moderators' own words, so another server
    bound to the same VRChat group does not see them. Who wrote it is kept as the Discord ID and the
    name they had then; notes are never edited.
    """

    __tablename__ = "moderator_notes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    group_id: Mapped[str] = mapped_column(String)
    vrchat_user_id: Mapped[str] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    author_discord_id: Mapped[int] = mapped_column(BigInteger)
    author_name: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index(None, "guild_id", "group_id", "vrchat_user_id", "created_at"),
        {"sqlite_autoincrement": True},
    )


class AlertSettingsRow(Base):
    """A binding's thresholds for alerts on runaway moderators (bot.watchdog); no row: alerts off."""

    __tablename__ = "moderator_alert_settings"

    binding_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean)
    window_minutes: Mapped[int] = mapped_column(Integer)
    max_kicks: Mapped[int] = mapped_column(Integer)
    max_bans: Mapped[int] = mapped_column(Integer)
    max_role_removals: Mapped[int] = mapped_column(Integer)
    alert_channel_id: Mapped[int | None] = mapped_column(BigInteger)  # None: the requests channel
    ping_role_id: Mapped[int | None] = mapped_column(BigInteger)
    auto_kill_switch: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class ModeratorAlertRow(Base):
    """One episode of one actor's burst of kicks, bans or role removals, and its alert's delivery.

    Written in the same transaction that detects it (unique per binding, actor and start, so a check
    repeated after a crash finds it instead of adding another); delivered like the outbox: 'pending'
    -> 'sending' with a nonce -> 'sent' with the message id. ``resolution`` leaves NULL once, through
    a conditional UPDATE: the first of Dismiss and the kill switch wins.
    """

    __tablename__ = "moderator_alerts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    binding_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(String)
    actor_key: Mapped[str] = mapped_column(String)  # 'vrchat:usr_…' or 'discord:<id>'
    actor_vrchat_id: Mapped[str | None] = mapped_column(String)
    actor_discord_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str | None] = mapped_column(String)
    started_at: Mapped[datetime]
    last_entry_at: Mapped[datetime]
    counts: Mapped[dict[str, Any]]
    entry_ids: Mapped[list[Any]]
    channel_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    nonce: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_by: Mapped[int | None] = mapped_column(BigInteger)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("binding_id", "actor_key", "started_at"),
        Index(None, "state"),
        Index(None, "binding_id", "actor_key", "last_entry_at"),
        CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed')", name="state"),
        CheckConstraint("resolution IN ('dismissed', 'roles_removed')", name="resolution"),
    )


metadata = Base.metadata


class RoleSyncSettingsRow(Base):
    """A binding's role-sync settings (bot.roles): off, shadow (plan only) or on, and its membership
    role (linked members of the VRChat group hold it in Discord). No row: off, no membership role."""

    __tablename__ = "role_sync_settings"

    binding_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    mode: Mapped[str] = mapped_column(String(8))
    membership_role_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("mode IN ('off', 'shadow', 'on')", name="mode"),)


class RoleMappingRow(Base):
    """One VRChat group role ↔ one Discord role of a binding, the way changes flow, and which side wins
    when the two disagree with no agreed history. Each role appears in at most one mapping per binding."""

    __tablename__ = "role_mappings"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    binding_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"))
    vrchat_role_id: Mapped[str] = mapped_column(String)
    discord_role_id: Mapped[int] = mapped_column(BigInteger)
    direction: Mapped[str] = mapped_column(String(20))
    source_of_truth: Mapped[str] = mapped_column(String(8))
    allow_management: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("binding_id", "vrchat_role_id"),
        UniqueConstraint("binding_id", "discord_role_id"),
        CheckConstraint("direction IN ('vrchat_to_discord', 'discord_to_vrchat', 'both')", name="direction"),
        CheckConstraint("source_of_truth IN ('vrchat', 'discord')", name="source_of_truth"),
        {"sqlite_autoincrement": True},
    )


class RoleSyncHeldRow(Base):
    """What both sides agreed on when the bot last looked or wrote: whether this linked pair held the
    mapped role (mapping_id 0: the membership role). A side that now differs from it is the side that
    changed; the bot's own writes land here, so they never come back as a change to copy."""

    __tablename__ = "role_sync_held"

    binding_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    mapping_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    vrchat_user_id: Mapped[str] = mapped_column(String, primary_key=True)
    discord_user_id: Mapped[int] = mapped_column(BigInteger)
    held: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class RoleSyncWriteRow(Base):
    """A write the bot is about to make (journalled before it is sent, removed with its action-log
    line once done): after a crash the next reconcile finds it, looks whether it took, and logs it
    once. Plus refusals (state 'refused'): a role Discord or VRChat will not let the bot change, reported
    once in the binding's channel and not tried again until an admin maps it again or turns sync on."""

    __tablename__ = "role_sync_writes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    binding_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bindings.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(8))
    op: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[str] = mapped_column(String)  # a VRChat user ID, or a Discord user ID as text
    role_id: Mapped[str] = mapped_column(String)
    state: Mapped[str] = mapped_column(String(8))
    details: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]

    __table_args__ = (
        Index(None, "binding_id", "state"),
        CheckConstraint("side IN ('vrchat', 'discord')", name="side"),
        CheckConstraint("op IN ('add', 'remove')", name="op"),
        CheckConstraint("state IN ('pending', 'refused')", name="state"),
        {"sqlite_autoincrement": True},
    )
