"""The tables about people: Discord ↔ VRChat links and their codes, ban prompts and settings, moderator
notes and the pages of their histories seen, and the session-expired notices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, binding_fk, surrogate_id


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

    id: Mapped[int] = surrogate_id()
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

    id: Mapped[int] = surrogate_id()
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

    id: Mapped[int] = surrogate_id()
    binding_id: Mapped[int] = binding_fk()
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

    binding_id: Mapped[int] = binding_fk(primary_key=True, autoincrement=False)
    discord_ban: Mapped[str] = mapped_column(String(8))
    discord_kick: Mapped[str] = mapped_column(String(8))
    prompt_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_by: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("discord_ban IN ('off', 'prompt', 'ban')", name="discord_ban"),
        CheckConstraint("discord_kick IN ('off', 'prompt')", name="discord_kick"),
    )


class DiscordAuditMarkRow(Base):
    """Per Discord server, the newest audit log entry the bot has taken in (bot.banbridge): at the next
    connection, the bans, unbans and kicks after it are what happened while no process listened."""

    __tablename__ = "discord_audit_marks"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_entry_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class SessionNoticeRow(Base):
    """A feed channel that got an account's "VRChat session expired" notice of the episode still open
    (bot.feed.alerts): it gets that account's "back" notice when the session returns, after a restart
    too, and not a second alarm for that account while the episode lasts. `account` is the account's
    configured name ('' for a lone client, and for rows from before accounts were told apart)."""

    __tablename__ = "session_notices"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String, primary_key=True, server_default=text("''"))
    alerted_at: Mapped[datetime]


class ModeratorNoteRow(Base):
    """A note a Discord moderator wrote about a VRChat user (bot.desk: `/vrc note`, shown in
    `/vrc history` and on the user's next join-request card).

    Kept per server and group: notes are the server's moderators' own words, so another server
    bound to the same VRChat group does not see them. Who wrote it is kept as the Discord ID and the
    name they had then; the author or an admin may change the text (`edited_at`) or delete the note,
    and the action log keeps what it said before.
    """

    __tablename__ = "moderator_notes"

    id: Mapped[int] = surrogate_id()
    guild_id: Mapped[int] = mapped_column(BigInteger)
    group_id: Mapped[str] = mapped_column(String)
    vrchat_user_id: Mapped[str] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    author_discord_id: Mapped[int] = mapped_column(BigInteger)
    author_name: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]

    __table_args__ = (
        Index(None, "guild_id", "group_id", "vrchat_user_id", "created_at"),
        {"sqlite_autoincrement": True},
    )


class HistoryPagerRow(Base):
    """The pages of one `/vrc history` reply seen so far (bot.desk): its ◂ Prev / Next ▸ buttons carry
    only this row's id and a page number, so they keep working after a restart. `cursors` is a JSON
    list: the history cursor each page is read with (the first is null), and the next page's once it
    is known. Rows not used for a week are forgotten (bot.store.history_pagers)."""

    __tablename__ = "history_pagers"

    id: Mapped[int] = surrogate_id()
    guild_id: Mapped[int] = mapped_column(BigInteger)
    group_id: Mapped[str] = mapped_column(String)
    user_id: Mapped[str] = mapped_column(String)
    opener_discord_id: Mapped[int] = mapped_column(BigInteger)
    cursors: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime]

    __table_args__ = (Index(None, "used_at"), {"sqlite_autoincrement": True})
