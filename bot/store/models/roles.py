"""The role-sync tables (bot.roles): settings, mappings, what both sides held, the write journal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, binding_fk, surrogate_id


class RoleSyncSettingsRow(Base):
    """A binding's role-sync settings (bot.roles): off, shadow (plan only) or on, and its membership
    role (linked members of the VRChat group hold it in Discord). No row: off, no membership role."""

    __tablename__ = "role_sync_settings"

    binding_id: Mapped[int] = binding_fk(primary_key=True, autoincrement=False)
    mode: Mapped[str] = mapped_column(String(8))
    membership_role_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("mode IN ('off', 'shadow', 'on')", name="mode"),)


class RoleMappingRow(Base):
    """One VRChat group role ↔ one Discord role of a binding, the way changes flow, and which side wins
    when the two disagree with no agreed history. Each role appears in at most one mapping per binding."""

    __tablename__ = "role_mappings"

    id: Mapped[int] = surrogate_id()
    binding_id: Mapped[int] = binding_fk()
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

    binding_id: Mapped[int] = binding_fk(primary_key=True, autoincrement=False)
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

    id: Mapped[int] = surrogate_id()
    binding_id: Mapped[int] = binding_fk()
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


class RoleSyncAskRow(Base):
    """A Discord member's roles changed where the group's role sync does not run: the process holding
    the group reconciles that member at its next tick (bot.roles.loop). Ids only grow, so a reader
    keeps the last id it read; rows are forgotten after a day (the full reconcile covers the rest)."""

    __tablename__ = "role_sync_asks"

    id: Mapped[int] = surrogate_id()
    binding_id: Mapped[int] = binding_fk()
    vrchat_user_id: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime]

    __table_args__ = (Index(None, "created_at"), {"sqlite_autoincrement": True})
