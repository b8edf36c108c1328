"""The Discord side of role sync on discord.py (bot.roles.sync.DiscordRoles): members' roles, role
writes, the one-time refusal notice.

Without the privileged Server Members intent the bot cannot list a server's members, so it asks for
each linked member on its own (`GET /guilds/{g}/members/{u}`, no intent needed); with it
(`[discord] server_members_intent = true`) it pages the member list, 1,000 a request. Both work in a
worker process that never connects to the gateway (the HTTP client underneath needs no cached Guild).
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import discord

from bot.roles.sync import MemberGone, RoleRefused

log = logging.getLogger(__name__)

MEMBER_PAGE = 1000  # Discord's most per GET /guilds/{g}/members
UNKNOWN_MEMBER = 10007
MISSING_PERMISSIONS = 50013
REASON = "GroupBridge role sync"


def _role_ids(payload: object) -> frozenset[int]:
    roles = payload.get("roles", []) if isinstance(payload, dict) else []
    return frozenset(int(r) for r in roles)


class DiscordRoleAccess:
    def __init__(self, client: discord.Client, *, list_members: bool) -> None:
        self._client = client
        self.list_members = list_members  # the Server Members intent is on

    async def member_roles(
        self, guild_id: int, user_ids: Collection[int]
    ) -> tuple[dict[int, frozenset[int] | None], bool]:
        wanted = set(user_ids)
        if not wanted:
            return {}, True
        if self.list_members and len(wanted) > 10:
            try:
                return await self._listed(guild_id, wanted), True
            except discord.HTTPException as exc:  # 403 50001: the intent is not switched on after all
                log.warning(
                    "Role sync: listing the members of %s failed (%s); asking one by one.", guild_id, exc
                )
        found: dict[int, frozenset[int] | None] = {}
        complete = True
        for user_id in sorted(wanted):
            try:
                found[user_id] = _role_ids(await self._client.http.get_member(guild_id, user_id))
            except discord.NotFound as exc:
                if exc.code != UNKNOWN_MEMBER:  # Unknown Guild: the bot has left; nothing is known
                    return {}, False
                found[user_id] = None
            except discord.HTTPException as exc:
                log.warning("Role sync: reading member %s of %s failed: %s", user_id, guild_id, exc)
                complete = False
        return found, complete

    async def _listed(self, guild_id: int, wanted: set[int]) -> dict[int, frozenset[int] | None]:
        found: dict[int, frozenset[int] | None] = dict.fromkeys(wanted)
        after = 0
        while True:
            page = await self._client.http.get_members(guild_id, MEMBER_PAGE, after)
            for member in page:
                user_id = int(member["user"]["id"])
                if user_id in wanted:
                    found[user_id] = _role_ids(member)
            if len(page) < MEMBER_PAGE:
                return found
            after = max(int(m["user"]["id"]) for m in page)

    def _why_refused(self, guild_id: int, role_id: int) -> str:
        """Discord says only "Missing Permissions"; the cached guild (the Guilds intent) says why."""
        guild = self._client.get_guild(guild_id)
        role = guild.get_role(role_id) if guild is not None else None
        if guild is None or role is None:
            return "Discord refused (Missing Permissions)"
        if role.managed:
            return "the role is managed by an integration, so no one can give or take it"
        me = guild.me
        if me is not None and not me.guild_permissions.manage_roles:
            return "the bot lacks the Manage Roles permission"
        if me is not None and role >= me.top_role:
            return "the role is not below the bot's highest role; move the bot's role above it"
        return "Discord refused (Missing Permissions)"

    async def change_role(self, guild_id: int, user_id: int, role_id: int, *, give: bool) -> None:
        http = self._client.http
        try:
            if give:
                await http.add_role(guild_id, user_id, role_id, reason=REASON)
            else:
                await http.remove_role(guild_id, user_id, role_id, reason=REASON)
        except discord.Forbidden as exc:
            if exc.code == MISSING_PERMISSIONS:
                raise RoleRefused(self._why_refused(guild_id, role_id)) from exc
            raise
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_MEMBER:
                raise MemberGone() from exc
            raise RoleRefused("the role no longer exists in Discord") from exc

    async def notify(self, channel_id: int, text: str) -> None:
        channel = self._client.get_partial_messageable(channel_id)
        await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
