"""Discord's rules for guild members, roles and bans, as the REST routes apply them.

What the bot may do to a member's roles (``PUT``/``DELETE /guilds/{g}/members/{u}/roles/{r}``):
the bot needs Manage Roles (or Administrator, or to own the guild), and the role must be *below*
the bot's highest role and not managed by an integration; anything else is Discord's 403 50013
"Missing Permissions" (Administrator does not lift the hierarchy; owning the guild does).  Unknown
guild, member or role: 404 10004 / 10007 / 10011.  Giving a role the member holds, or taking one
they lack, succeeds and changes nothing.

Refusals here are answers a correct bot can meet (an admin moved a role), not protocol errors, so
they are not added to ``violations``; the recorded request keeps the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from .guilds import (
    ADMINISTRATOR,
    BAN_MEMBERS,
    MANAGE_ROLES,
    VIEW_AUDIT_LOG,
    StandInGuild,
    StandInMember,
    StandInRole,
)
from .intents import GUILD_MEMBERS
from .models import StandInUser
from .state import ApiError, StandInState

T = TypeVar("T")


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def _known(table: Mapping[int, T], key: int, code: int, message: str) -> T:
    """``table[key]``, or Discord's 404 with that JSON error code and message."""
    found = table.get(key)
    if found is None:
        raise ApiError(404, code, message)
    return found


def guild_of(state: StandInState, guild_id: int) -> StandInGuild:
    return _known(state.guilds, guild_id, 10004, "Unknown Guild")


def member_of(guild: StandInGuild, user_id: int) -> StandInMember:
    return _known(guild.members, user_id, 10007, "Unknown Member")


def role_of(guild: StandInGuild, role_id: int) -> StandInRole:
    return _known(guild.roles, role_id, 10011, "Unknown Role")


def bot_permissions(state: StandInState, guild: StandInGuild) -> int:
    """The bot's guild-level permissions from its roles (channel overwrites play no part here)."""
    bot = guild.members.get(state.bot.id)
    return guild.permissions_of(bot.role_ids, bot.id) if bot is not None else 0


def require_bot_permission(state: StandInState, guild: StandInGuild, permission: int) -> None:
    if not bot_permissions(state, guild) & (permission | ADMINISTRATOR):
        raise missing_permissions()


def why_not_assignable(state: StandInState, guild: StandInGuild, role: StandInRole) -> str | None:
    """Why the bot may not give or take ``role`` (Discord says only "Missing Permissions"), or None."""
    if not bot_permissions(state, guild) & (MANAGE_ROLES | ADMINISTRATOR):
        return "the bot lacks Manage Roles"
    if role.id == guild.id:
        return "@everyone is held by everyone and cannot be given or taken"
    if role.managed:
        return f"role {role.name!r} is managed by an integration"
    bot = guild.members.get(state.bot.id)
    if guild.owner_id != state.bot.id:
        top = guild.top_position(bot) if bot is not None else 0
        if role.position >= top:
            return f"role {role.name!r} (position {role.position}) is not below the bot's highest ({top})"
    return None


def change_member_role(
    state: StandInState, guild_id: int, user_id: int, role_id: int, *, give: bool
) -> StandInMember | None:
    """Give (or take) a role as the bot; the member when something changed, None when not."""
    guild = guild_of(state, guild_id)
    role = role_of(guild, role_id)
    member = member_of(guild, user_id)
    if why_not_assignable(state, guild, role) is not None:
        raise missing_permissions()
    held = role_id in member.role_ids
    if held == give:
        return None
    if give:
        member.role_ids = (*member.role_ids, role_id)
    else:
        member.role_ids = tuple(r for r in member.role_ids if r != role_id)
    guild.refresh_permissions()
    return member


def list_members(state: StandInState, guild_id: int, *, limit: int, after: int) -> list[StandInMember]:
    """Members by user id, the ``limit`` after ``after``; needs the GUILD_MEMBERS intent switched on
    for the application (403 50001 Missing Access otherwise), like Discord."""
    guild = guild_of(state, guild_id)
    if not state.privileged_intents & GUILD_MEMBERS:
        raise ApiError(403, 50001, "Missing Access")
    ordered = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)
    return ordered[:limit]


def list_bans(
    state: StandInState, guild_id: int, *, limit: int, before: int | None, after: int | None
) -> list[StandInUser]:
    """Banned users by id (needs Ban Members): ``after`` the ``limit`` next ones up, ``before`` the
    ``limit`` closest below, else from the lowest id."""
    guild = guild_of(state, guild_id)
    require_bot_permission(state, guild, BAN_MEMBERS)
    ordered = sorted(guild.bans.values(), key=lambda u: u.id)
    if before is not None and after is None:
        return [u for u in ordered if u.id < before][-limit:]
    return [u for u in ordered if u.id > (after or 0)][:limit]


def get_ban(state: StandInState, guild_id: int, user_id: int) -> StandInUser:
    guild = guild_of(state, guild_id)
    require_bot_permission(state, guild, BAN_MEMBERS)
    user = guild.bans.get(user_id)
    if user is None:
        raise ApiError(404, 10026, "Unknown Ban")
    return user


def audit_log(
    state: StandInState,
    guild_id: int,
    *,
    limit: int,
    before: int | None,
    after: int | None,
    action_type: int | None,
    user_id: int | None,
) -> list[dict[str, Any]]:
    """Audit log entries (needs View Audit Log): ``after`` the ``limit`` next ones up, oldest first
    (as Discord pages forward), else the ``limit`` closest below ``before`` (or the newest), newest
    first."""
    guild = guild_of(state, guild_id)
    require_bot_permission(state, guild, VIEW_AUDIT_LOG)
    wanted = [
        e
        for e in guild.audit_log
        if (action_type is None or e["action_type"] == action_type)
        and (user_id is None or e["user_id"] == str(user_id))
    ]
    ordered = sorted(wanted, key=lambda e: int(e["id"]))
    if after is not None:
        return [e for e in ordered if int(e["id"]) > after][:limit]
    return [e for e in ordered if before is None or int(e["id"]) < before][-limit:][::-1]
