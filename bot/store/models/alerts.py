"""The moderator watchdog's tables (bot.watchdog): a binding's alert thresholds, and the alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, binding_fk, surrogate_id


class AlertSettingsRow(Base):
    """A binding's thresholds for alerts on runaway moderators (bot.watchdog); no row: alerts off."""

    __tablename__ = "moderator_alert_settings"

    binding_id: Mapped[int] = binding_fk(primary_key=True)
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

    id: Mapped[int] = surrogate_id()
    binding_id: Mapped[int] = binding_fk()
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
    # +1 each time the episode grows after it was recorded; the message shows `shown_revision`, and
    # the loop edits it while it is behind (bot.watchdog.loop).
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    shown_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
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
