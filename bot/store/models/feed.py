"""The audit feed's tables: entries as fetched, each group's cursor, the bindings that route them to
channels, the outbox that delivers them, what was set aside, gaps, the action log and the leases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, binding_fk, surrogate_id


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

    id: Mapped[int] = surrogate_id()
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

    id: Mapped[int] = surrogate_id()
    # CASCADE: removing a binding drops its queue; retention purges sent rows with their entries.
    entry_id: Mapped[str] = mapped_column(ForeignKey("audit_entries.id", ondelete="CASCADE"))
    binding_id: Mapped[int] = binding_fk()
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

    id: Mapped[int] = surrogate_id()
    group_id: Mapped[str] = mapped_column(String)
    start: Mapped[datetime]
    end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    notified: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index(None, "group_id", "notified"),)


class ActionLogRow(Base):
    __tablename__ = "action_log"

    id: Mapped[int] = surrogate_id()
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
