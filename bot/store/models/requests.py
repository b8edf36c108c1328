"""The join-request tables: request cards, the watchlist, the automatic rules and their settings, and
the instance reports of the age-gate policy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, binding_fk, surrogate_id


class RequestCardRow(Base):
    """A join request shown as a card (a Discord message with buttons) in a requests channel.

    One row per (group, requester, channel). ``state`` leaves 'pending' exactly once, through a
    conditional UPDATE (bot.store.cards.CardOps.claim_card): that is what makes the first click win,
    across processes too. channel_id 0 is a claim made where no card was posted (a slash command).
    """

    __tablename__ = "request_cards"

    id: Mapped[int] = surrogate_id()
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
    # The process (bot.leases owner id) whose Discord decision claimed the card: once it holds no lease,
    # its claim can be settled (bot.requests.claims). None: no such claim, or made before 0021.
    claimed_by: Mapped[str | None] = mapped_column(String)

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

    id: Mapped[int] = surrogate_id()
    binding_id: Mapped[int] = binding_fk()
    group_id: Mapped[str] = mapped_column(String)  # the watched group, grp_…
    note: Mapped[str] = mapped_column(String(200))
    added_by_discord_id: Mapped[int] = mapped_column(BigInteger)
    added_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("binding_id", "group_id"),)


class RequestRuleRow(Base):
    """One automatic join-request rule of a binding; the lowest position that matches decides."""

    __tablename__ = "request_rules"

    id: Mapped[int] = surrogate_id()
    binding_id: Mapped[int] = binding_fk()
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

    binding_id: Mapped[int] = binding_fk(primary_key=True)
    shadow: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class InstanceReportRow(Base):
    """A group instance the binding's age-gate policy acted on, once: reported to the moderators (with
    a Close button whose custom_id carries this row's id) or closed automatically."""

    __tablename__ = "instance_reports"

    id: Mapped[int] = surrogate_id()
    binding_id: Mapped[int] = binding_fk()
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
