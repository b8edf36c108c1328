"""REST routes for guild members, roles and bans; the rules live in ``roster.py``.

``GET /guilds/{g}/members`` (``limit`` 1-1000, default 1, ``after`` a user id: Discord's paging by
user id), ``GET /guilds/{g}/members/{u}``, ``PUT|DELETE /guilds/{g}/members/{u}/roles/{r}`` (204;
a change also sends GUILD_MEMBER_UPDATE to a bot with the GUILD_MEMBERS intent),
``GET /guilds/{g}/roles``, ``GET /guilds/{g}/bans`` (``limit`` default 1000, ``before``/``after``),
``GET /guilds/{g}/bans/{u}`` and ``GET /guilds/{g}/audit-logs`` (View Audit Log; ``limit`` default
50, ``before``/``after``, ``action_type``, ``user_id``).  Parameter types and ranges are checked
against the spec first.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

import bot.sandbox.discord.roster as roster

from .gateway import GatewayServer
from .guild_events import member_event
from .handlers import API_PREFIX, STATE_KEY, json_response
from .intents import GUILD_MEMBERS
from .state import StandInState

GATEWAY_KEY = web.AppKey("discord_standin_gateway", GatewayServer)


def _state(request: web.Request) -> StandInState:
    return request.app[STATE_KEY]


def _id(request: web.Request, name: str) -> int:
    return int(request.match_info[name])  # the spec check has made sure it is a snowflake


def _query_id(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    return int(raw) if raw is not None else None


async def list_members(request: web.Request) -> web.Response:
    members = roster.list_members(
        _state(request),
        _id(request, "guild_id"),
        limit=int(request.query.get("limit", "1")),
        after=_query_id(request, "after") or 0,
    )
    return json_response([m.to_payload(with_permissions=False) for m in members])


async def get_member(request: web.Request) -> web.Response:
    guild = roster.guild_of(_state(request), _id(request, "guild_id"))
    return json_response(roster.member_of(guild, _id(request, "user_id")).to_payload(with_permissions=False))


async def change_role(request: web.Request) -> web.Response:
    changed = roster.change_member_role(
        _state(request),
        _id(request, "guild_id"),
        _id(request, "user_id"),
        _id(request, "role_id"),
        give=request.method == "PUT",
    )
    if changed is not None:
        await request.app[GATEWAY_KEY].emit(
            "GUILD_MEMBER_UPDATE", member_event(changed), intent=GUILD_MEMBERS
        )
    return web.Response(status=204)


async def list_roles(request: web.Request) -> web.Response:
    guild = roster.guild_of(_state(request), _id(request, "guild_id"))
    ordered = sorted(guild.roles.values(), key=lambda r: (r.position, -r.id))
    return json_response([r.to_payload() for r in ordered])


async def list_bans(request: web.Request) -> web.Response:
    users = roster.list_bans(
        _state(request),
        _id(request, "guild_id"),
        limit=int(request.query.get("limit", "1000")),
        before=_query_id(request, "before"),
        after=_query_id(request, "after"),
    )
    return json_response([{"user": u.to_payload(), "reason": None} for u in users])


async def get_ban(request: web.Request) -> web.Response:
    user = roster.get_ban(_state(request), _id(request, "guild_id"), _id(request, "user_id"))
    return json_response({"user": user.to_payload(), "reason": None})


async def audit_log(request: web.Request) -> web.Response:
    state = _state(request)
    guild = roster.guild_of(state, _id(request, "guild_id"))
    action = request.query.get("action_type")
    entries = roster.audit_log(
        state,
        guild.id,
        limit=int(request.query.get("limit", "50")),
        before=_query_id(request, "before"),
        after=_query_id(request, "after"),
        action_type=int(action) if action is not None else None,
        user_id=_query_id(request, "user_id"),
    )
    named = {int(e[key]) for e in entries for key in ("user_id", "target_id")}
    users = [m.user.to_payload() for m in guild.members.values() if m.id in named]
    users += [u.to_payload() for u in guild.bans.values() if u.id in named and u.id not in guild.members]
    empty: list[Any] = []
    return json_response(
        {
            "audit_log_entries": entries,
            "users": users,
            "integrations": empty,
            "webhooks": empty,
            "guild_scheduled_events": empty,
            "threads": empty,
            "application_commands": empty,
            "auto_moderation_rules": empty,
        }
    )


def add_routes(app: web.Application, gateway: GatewayServer) -> None:
    guild = f"{API_PREFIX}/guilds/{{guild_id}}"
    app[GATEWAY_KEY] = gateway
    app.router.add_get(f"{guild}/members", list_members)
    app.router.add_get(f"{guild}/members/{{user_id}}", get_member)
    app.router.add_put(f"{guild}/members/{{user_id}}/roles/{{role_id}}", change_role)
    app.router.add_delete(f"{guild}/members/{{user_id}}/roles/{{role_id}}", change_role)
    app.router.add_get(f"{guild}/roles", list_roles)
    app.router.add_get(f"{guild}/bans", list_bans)
    app.router.add_get(f"{guild}/bans/{{user_id}}", get_ban)
    app.router.add_get(f"{guild}/audit-logs", audit_log)
