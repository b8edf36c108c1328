"""Who made a Discord ban, so that an automatic VRChat ban (`/bridge bans mode:ban`) is credited to
them rather than to the bot.

The gateway's GUILD_BAN_ADD does not name the moderator; the audit log's MEMBER_BAN_ADD entry does,
and Discord sends it separately (GUILD_AUDIT_LOG_ENTRY_CREATE, to a bot that may View Audit Log), before
or after the ban event. So the cog keeps the ban entries it hears for a while, and an automatic ban
waits AUTHOR_WAIT seconds at most, counted from when its prompt was stored, for the entry of its ban.
What was not heard by then (the entry came while no process listened, or the prompt is resumed after a
restart) is looked for once in the audit log itself. Without View Audit Log nothing is waited for.

Naming the moderator is credit, not authorization: an admin chose the automatic mode, and the ban is
made whoever banned in Discord. A ban the bot itself made in Discord names nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import discord

from bot.services.common import TTLCache

AUTHOR_WAIT = 5.0  # seconds an automatic ban waits for its audit entry (it usually comes in one)
HEARD_SECONDS = 120.0  # how long an entry heard before its ban event is kept
AUDIT_LOOKBACK = 25  # the newest ban entries read when the live one was not heard
SAME_BAN = timedelta(minutes=2)  # an entry this much older than the prompt belongs to an earlier ban


@dataclass(frozen=True, slots=True)
class BanAuthor:
    """The Discord user an audit entry names as who banned."""

    user_id: int
    name: str | None  # None when the entry came without its user (a live one, the member not cached)


def author_of(entry: discord.AuditLogEntry) -> BanAuthor | None:
    if entry.user_id is None:
        return None
    return BanAuthor(entry.user_id, entry.user.display_name if entry.user is not None else None)


async def named(guild: discord.Guild, author: BanAuthor) -> str:
    """The author's name as the server shows it (one request when the entry did not carry it)."""
    if author.name is not None:
        return author.name
    member = guild.get_member(author.user_id)
    if member is None:
        with contextlib.suppress(discord.HTTPException):
            member = await guild.fetch_member(author.user_id)
    return member.display_name if member is not None else f"Discord user {author.user_id}"


def _target(entry: discord.AuditLogEntry) -> int | None:
    return int(entry.target.id) if entry.target is not None else None


def _same_ban(entry_id: int, since: datetime) -> bool:
    return discord.utils.snowflake_time(entry_id) >= since - SAME_BAN


class BanAuthors:
    """The ban entries heard live, handed to the automatic bans waiting for them."""

    def __init__(self, wait: float = AUTHOR_WAIT) -> None:
        self.wait = wait
        self._heard: TTLCache[tuple[int, int], tuple[int, BanAuthor | None]] = TTLCache(HEARD_SECONDS)
        self._arrived: dict[tuple[int, int], asyncio.Event] = {}

    def heard(self, entry: discord.AuditLogEntry) -> None:
        """A live MEMBER_BAN_ADD entry."""
        target = _target(entry)
        if target is None:
            return
        key = (entry.guild.id, target)
        self._heard.put(key, (entry.id, author_of(entry)))
        arrived = self._arrived.get(key)
        if arrived is not None:
            arrived.set()

    def forget(self, guild_id: int, user_id: int) -> None:
        """The ban was lifted: its entry must not be taken for the next ban's."""
        self._heard.put((guild_id, user_id), (0, None))

    async def find(self, guild: discord.Guild, user_id: int, since: datetime) -> BanAuthor | None:
        """Who banned `user_id` in `guild` (the ban stored as a prompt at `since`), or None when the
        audit log cannot be read or does not say."""
        me: discord.Member | None = guild.me  # None while the server is still loading
        if me is None or not me.guild_permissions.view_audit_log:
            return None  # Discord sends no entries and refuses the log: nothing to wait for
        left = self.wait - (discord.utils.utcnow() - since).total_seconds()
        heard = await self._live(guild.id, user_id, since, min(max(left, 0.0), self.wait))
        return heard or await self._in_log(guild, user_id, since)

    async def _live(self, guild_id: int, user_id: int, since: datetime, seconds: float) -> BanAuthor | None:
        key = (guild_id, user_id)
        arrived = self._arrived.setdefault(key, asyncio.Event())
        try:
            if self._heard_since(key, since) is None and seconds > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), seconds)
        finally:
            if self._arrived.get(key) is arrived:
                del self._arrived[key]
        return self._heard_since(key, since)

    def _heard_since(self, key: tuple[int, int], since: datetime) -> BanAuthor | None:
        heard = self._heard.get(key)
        if heard is None or not heard[0] or not _same_ban(heard[0], since):
            return None
        return heard[1]

    @staticmethod
    async def _in_log(guild: discord.Guild, user_id: int, since: datetime) -> BanAuthor | None:
        """One read of the newest ban entries: the entry came while nobody listened."""
        try:
            async for entry in guild.audit_logs(limit=AUDIT_LOOKBACK, action=discord.AuditLogAction.ban):
                if _target(entry) == user_id:
                    return author_of(entry) if _same_ban(entry.id, since) else None
        except discord.HTTPException:
            return None
        return None
