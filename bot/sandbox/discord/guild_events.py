"""The world changing under the bot: members join, change and leave, get banned, roles appear and
move.  ``GuildControls`` (a part of ``DiscordStandIn``) makes each change as a person in Discord
would and sends the bot the gateway event Discord sends, only when its IDENTIFY asked for the
intent (GUILD_MEMBERS for member events, GUILD_MODERATION for bans, GUILDS for roles).

    await standin.give_role(GUILD_ID, MEMBER_ID, VERIFIED_ID)  # a moderator, in Discord's UI
    await standin.ban(GUILD_ID, MEMBER_ID)                     # GUILD_BAN_ADD, GUILD_MEMBER_REMOVE
    await standin.kick(GUILD_ID, MEMBER_ID, by=MOD_ID)         # GUILD_MEMBER_REMOVE, an audit entry

These are the acts of people with every right to them: no hierarchy check applies (the bot's own
REST calls get those, in ``roster.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .gateway import GatewayServer
from .guilds import VIEW_AUDIT_LOG, StandInGuild, StandInMember, StandInRole
from .intents import GUILD_MEMBERS, GUILD_MODERATION, GUILDS
from .models import StandInUser
from .roster import bot_permissions
from .state import StandInState

_KEEP: Any = object()  # "leave the nickname as it is" (None clears it)
MEMBER_KICK = 20  # Discord's audit log action types
MEMBER_BAN_ADD = 22
MEMBER_BAN_REMOVE = 23


def member_event(member: StandInMember) -> dict[str, Any]:
    """GUILD_MEMBER_ADD / UPDATE data: the member object plus ``guild_id``."""
    return {**member.to_payload(with_permissions=False), "guild_id": str(member.guild_id)}


def role_event(guild_id: int, role: StandInRole) -> dict[str, Any]:
    return {"guild_id": str(guild_id), "role": role.to_payload()}


class GuildControls:
    """Test controls of ``DiscordStandIn`` for members, roles and bans (see the module docstring)."""

    state: StandInState
    gateway: GatewayServer

    def _guild(self, guild_id: int) -> StandInGuild:
        try:
            return self.state.guilds[guild_id]
        except KeyError:
            raise KeyError(f"guild {guild_id} is not in the stand-in (add_guild it)") from None

    # ------------------------------------------------------------ reading
    def roles(self, guild_id: int) -> list[StandInRole]:
        """The guild's roles but @everyone, lowest first."""
        return self._guild(guild_id).ranked_roles()

    def bot_member(self, guild_id: int) -> StandInMember:
        """The bot's own member in the guild (its managed role comes with ``add_guild``)."""
        return self._guild(guild_id).members[self.state.bot.id]

    def top_role(self, guild_id: int, user_id: int) -> StandInRole | None:
        """A member's highest role (None: only @everyone), which bounds the roles they may manage."""
        guild = self._guild(guild_id)
        held = [guild.roles[r] for r in guild.members[user_id].role_ids if r in guild.roles and r != guild_id]
        return max(held, key=lambda r: (r.position, -r.id), default=None)

    # ------------------------------------------------------------ roles
    async def create_role(
        self,
        guild_id: int,
        role_id: int,
        name: str,
        permissions: int = 0,
        *,
        position: int | None = None,
        integration_id: int | None = None,
    ) -> StandInRole:
        """``add_role`` plus GUILD_ROLE_CREATE (and GUILD_ROLE_UPDATE for each role it pushed up)."""
        guild = self._guild(guild_id)
        before = {r.id: r.position for r in guild.roles.values()}
        role = self.state.add_role(
            guild_id, role_id, name, permissions, position=position, integration_id=integration_id
        )
        await self.gateway.emit("GUILD_ROLE_CREATE", role_event(guild_id, role), intent=GUILDS)
        await self._moved(guild, before, skip=role.id)
        return role

    async def update_role(
        self,
        guild_id: int,
        role_id: int,
        *,
        name: str | None = None,
        permissions: int | None = None,
        position: int | None = None,
    ) -> StandInRole:
        """Rename, re-permission or move a role (the others shift); GUILD_ROLE_UPDATE for each
        role that changed, the moved one first."""
        guild = self._guild(guild_id)
        role = guild.roles[role_id]
        before = {r.id: r.position for r in guild.roles.values()}
        if name is not None:
            role.name = name
        if permissions is not None:
            role.permissions = permissions
        if position is not None and role_id != guild_id:
            guild.place_role(role, position)
        guild.refresh_permissions()
        await self.gateway.emit("GUILD_ROLE_UPDATE", role_event(guild_id, role), intent=GUILDS)
        await self._moved(guild, before, skip=role.id)
        return role

    async def delete_role(self, guild_id: int, role_id: int) -> None:
        """Delete a role: members lose it (Discord sends no member updates for that) and the roles
        above move down; GUILD_ROLE_DELETE, then GUILD_ROLE_UPDATE for each role that moved."""
        guild = self._guild(guild_id)
        if role_id == guild_id:
            raise ValueError("@everyone cannot be deleted")
        before = {r.id: r.position for r in guild.roles.values()}
        del guild.roles[role_id]
        for member in guild.members.values():
            member.role_ids = tuple(r for r in member.role_ids if r != role_id)
        for number, role in enumerate(guild.ranked_roles(), start=1):
            role.position = number
        guild.refresh_permissions()
        data = {"guild_id": str(guild_id), "role_id": str(role_id)}
        await self.gateway.emit("GUILD_ROLE_DELETE", data, intent=GUILDS)
        await self._moved(guild, before, skip=role_id)

    async def _moved(self, guild: StandInGuild, before: dict[int, int], *, skip: int) -> None:
        for role in guild.ranked_roles():
            if role.id != skip and before.get(role.id, role.position) != role.position:
                await self.gateway.emit("GUILD_ROLE_UPDATE", role_event(guild.id, role), intent=GUILDS)

    # ------------------------------------------------------------ members
    async def join(
        self, guild_id: int, user_id: int, name: str, role_ids: Iterable[int] = ()
    ) -> StandInMember:
        """A user joins the guild: GUILD_MEMBER_ADD."""
        if user_id in self._guild(guild_id).members:
            raise ValueError(f"user {user_id} is already a member of guild {guild_id}")
        member = self.state.add_member(guild_id, user_id, name, role_ids=tuple(role_ids), bot=False)
        await self.gateway.emit("GUILD_MEMBER_ADD", member_event(member), intent=GUILD_MEMBERS)
        return member

    async def update_member(
        self, guild_id: int, user_id: int, *, role_ids: Iterable[int] | None = None, nick: Any = _KEEP
    ) -> StandInMember:
        """A moderator sets a member's roles and/or nickname (None clears it): GUILD_MEMBER_UPDATE."""
        guild = self._guild(guild_id)
        member = guild.members[user_id]
        if role_ids is not None:
            roles = tuple(dict.fromkeys(role_ids))
            unknown = [r for r in roles if r not in guild.roles or r == guild_id]
            if unknown:
                raise ValueError(f"roles {unknown} are not assignable roles of guild {guild_id}")
            member.role_ids = roles
        if nick is not _KEEP:
            member.nick = nick
        guild.refresh_permissions()
        await self.gateway.emit("GUILD_MEMBER_UPDATE", member_event(member), intent=GUILD_MEMBERS)
        return member

    async def give_role(self, guild_id: int, user_id: int, role_id: int) -> StandInMember:
        """A moderator gives a member a role in Discord's UI."""
        held = self._guild(guild_id).members[user_id].role_ids
        return await self.update_member(guild_id, user_id, role_ids=(*held, role_id))

    async def take_role(self, guild_id: int, user_id: int, role_id: int) -> StandInMember:
        """A moderator takes a role from a member in Discord's UI."""
        held = self._guild(guild_id).members[user_id].role_ids
        return await self.update_member(guild_id, user_id, role_ids=[r for r in held if r != role_id])

    async def leave(self, guild_id: int, user_id: int) -> None:
        """A member leaves (or is kicked): GUILD_MEMBER_REMOVE."""
        member = self._guild(guild_id).members.pop(user_id)
        data = {"guild_id": str(guild_id), "user": member.user.to_payload()}
        await self.gateway.emit("GUILD_MEMBER_REMOVE", data, intent=GUILD_MEMBERS)

    async def ban(
        self,
        guild_id: int,
        user_id: int,
        name: str | None = None,
        *,
        by: int | None = None,
        audit_first: bool = False,
    ) -> StandInUser:
        """A moderator bans a user, member or not: GUILD_BAN_ADD, then GUILD_MEMBER_REMOVE for a
        member (in that order, as discord.py expects), then, when ``by`` names the moderator, the audit
        log's MEMBER_BAN_ADD entry (as for a kick), or before the rest with ``audit_first`` (Discord
        does not order the two).  ``name`` names a user who is no member."""
        guild = self._guild(guild_id)
        member = guild.members.get(user_id)
        if member is None and name is None:
            raise ValueError(f"user {user_id} is not a member of guild {guild_id}: give their name")
        user = member.user if member is not None else StandInUser(id=user_id, username=name or "", bot=False)
        guild.bans[user_id] = user
        if audit_first:
            await self._audit_entry(guild, MEMBER_BAN_ADD, by=by, target=user_id, reason=None)
        data = {"guild_id": str(guild_id), "user": user.to_payload()}
        await self.gateway.emit("GUILD_BAN_ADD", data, intent=GUILD_MODERATION)
        if member is not None:
            await self.leave(guild_id, user_id)
        if not audit_first:
            await self._audit_entry(guild, MEMBER_BAN_ADD, by=by, target=user_id, reason=None)
        return user

    async def kick(self, guild_id: int, user_id: int, *, by: int, reason: str | None = None) -> None:
        """Member ``by`` kicks a member: GUILD_MEMBER_REMOVE (Server Members intent), and the audit log's
        MEMBER_KICK entry as GUILD_AUDIT_LOG_ENTRY_CREATE, which Discord sends only to a session with
        the Guild Moderation intent whose bot may View Audit Log in the guild."""
        guild = self._guild(guild_id)
        if user_id not in guild.members:
            raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
        await self.leave(guild_id, user_id)
        await self._audit_entry(guild, MEMBER_KICK, by=by, target=user_id, reason=reason)

    async def _audit_entry(
        self, guild: StandInGuild, action: int, *, by: int | None, target: int, reason: str | None
    ) -> None:
        """Kept in the guild's audit log (read back with GET /guilds/{g}/audit-logs), and sent as
        GUILD_AUDIT_LOG_ENTRY_CREATE only to a bot that may View Audit Log in the guild."""
        if by is None:
            return
        entry: dict[str, Any] = {
            "id": str(self.state.snowflakes.next()),
            "user_id": str(by),
            "target_id": str(target),
            "action_type": action,
            "changes": [],
        }
        if reason is not None:  # Discord leaves it out rather than send null
            entry["reason"] = reason
        guild.audit_log.append(entry)
        # The owner and Administrator hold every bit.
        if bot_permissions(self.state, guild) & VIEW_AUDIT_LOG:
            event = {**entry, "guild_id": str(guild.id), "reason": reason}
            await self.gateway.emit("GUILD_AUDIT_LOG_ENTRY_CREATE", event, intent=GUILD_MODERATION)

    async def unban(self, guild_id: int, user_id: int, *, by: int | None = None) -> None:
        """A moderator lifts a ban: GUILD_BAN_REMOVE, then, when ``by`` names the moderator, the audit
        log's MEMBER_BAN_REMOVE entry."""
        guild = self._guild(guild_id)
        user = guild.bans.pop(user_id)
        data = {"guild_id": str(guild_id), "user": user.to_payload()}
        await self.gateway.emit("GUILD_BAN_REMOVE", data, intent=GUILD_MODERATION)
        await self._audit_entry(guild, MEMBER_BAN_REMOVE, by=by, target=user_id, reason=None)
