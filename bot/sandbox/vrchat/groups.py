"""Group endpoints: the group itself, roles, members (kick/update), bans, invites, join requests.

Permission model (kept simple on purpose): the owner may do anything; other members need a role
carrying ``*`` or the specific GroupPermissions value VRChat uses for the action.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

import bot.sandbox.vrchat.render as render

from .auth import require_user
from .common import (
    MSG_ALREADY_BANNED,
    MSG_CANT_INVITE,
    MSG_CANT_REMOVE_OWNER,
    MSG_GROUP_NOT_FOUND,
    MSG_NO_JOIN_REQUEST,
    MSG_NO_PERMISSION,
    MSG_NOT_BANNED,
    MSG_NOT_INVITED,
    MSG_NOT_MEMBER,
    MSG_TARGET_NOT_MEMBER,
    MSG_USER_NOT_FOUND,
    ApiError,
    ok_empty,
    page_params,
    query_bool,
    read_json,
    required_str,
    state_of,
    success,
)
from .models import SimGroup, SimUser

GROUP = "/groups/{groupId}"


def group_or_404(request: web.Request) -> SimGroup:
    """The group named in the path, or VRChat's 404."""
    group = state_of(request).group(request.match_info["groupId"])
    if group is None:
        raise ApiError(404, MSG_GROUP_NOT_FOUND)
    return group


def user_or_404(request: web.Request, user_id: str) -> SimUser:
    """A user by id, or a 404 envelope."""
    user = state_of(request).user(user_id)
    if user is None:
        raise ApiError(404, MSG_USER_NOT_FOUND)
    return user


def require_member(request: web.Request, group: SimGroup, actor: SimUser) -> None:
    """403 unless the caller is a full member (or the owner)."""
    if group.owner_id != actor.id and not state_of(request).is_member(group.id, actor.id):
        raise ApiError(403, MSG_NOT_MEMBER)


def require_permission(request: web.Request, group: SimGroup, actor: SimUser, permission: str) -> None:
    """403 unless the caller may perform an action needing ``permission``."""
    require_member(request, group, actor)
    if not state_of(request).has_permission(group.id, actor.id, permission):
        raise ApiError(403, MSG_NO_PERMISSION)


def permitted(request: web.Request, permission: str) -> tuple[SimUser, SimGroup]:
    """The signed-in caller and the group in the path, once the caller may do what needs
    ``permission`` there (401, 404 or 403 otherwise, in VRChat's order)."""
    actor = require_user(request)
    group = group_or_404(request)
    require_permission(request, group, actor, permission)
    return actor, group


def _status_of(group: SimGroup, user: SimUser) -> str | None:
    """The status of the user's record in the group (member, invited, banned...), None for none."""
    record = group.memberships.get(user.id)
    return record.status if record is not None else None


def _path_user_with(
    request: web.Request, permission: str, status: str, otherwise: ApiError
) -> tuple[SimUser, SimGroup, SimUser]:
    """Caller, group and the user in the path, who must hold a record of ``status`` there: what
    undoing a ban or an invite starts from (``otherwise`` is VRChat's answer when they do not)."""
    actor, group = permitted(request, permission)
    target = user_or_404(request, request.match_info["userId"])
    if _status_of(group, target) != status:
        raise otherwise
    return actor, group, target


async def _body_user(
    request: web.Request, permission: str
) -> tuple[SimUser, SimGroup, SimUser, dict[str, Any]]:
    """Caller, group, the user the body's ``userId`` names, and the body: what banning and inviting
    start from (401, 404, 403, then 400 or 404 for the body, in VRChat's order)."""
    actor, group = permitted(request, permission)
    body = await read_json(request)
    target = user_or_404(request, required_str(body, "userId"))
    return actor, group, target, body


def _member_list(request: web.Request, group: SimGroup, status: str) -> web.Response:
    """A paged GroupMember array of records in one status."""
    n, offset = page_params(request)
    state = state_of(request)
    records = state.members(group.id, status=status)
    return web.json_response([render.member(r, state) for r in records[offset : offset + n]])


async def get_group(request: web.Request) -> web.StreamResponse:
    """``GET /groups/{groupId}`` (roles only with ``includeRoles=true``)."""
    actor = require_user(request)
    group = group_or_404(request)
    include_roles = query_bool(request, "includeRoles")
    return web.json_response(render.group(group, state_of(request), actor.id, include_roles=include_roles))


async def get_roles(request: web.Request) -> web.StreamResponse:
    """``GET /groups/{groupId}/roles``."""
    require_user(request)
    group = group_or_404(request)
    return web.json_response([render.role(r) for r in sorted(group.roles.values(), key=lambda r: r.order)])


async def get_members(request: web.Request) -> web.StreamResponse:
    """``GET /groups/{groupId}/members``: paged, ``sort`` joinedAt:desc (default) or :asc.

    Like VRChat, never lists the caller (see the spec's description of this operation).
    """
    caller = require_user(request)
    group = group_or_404(request)
    n, offset = page_params(request)
    sort = request.query.get("sort", "joinedAt:desc")
    if sort not in {"joinedAt:desc", "joinedAt:asc"}:
        raise ApiError(400, f"Invalid sort\u02f8 {sort!r}")
    state = state_of(request)
    records = [
        r for r in state.members(group.id, newest_first=sort == "joinedAt:desc") if r.user_id != caller.id
    ]
    role_id = request.query.get("roleId")
    if role_id:
        records = [r for r in records if role_id in r.role_ids]
    return web.json_response([render.member(r, state) for r in records[offset : offset + n]])


async def get_member(request: web.Request) -> web.StreamResponse:
    """``GET /groups/{groupId}/members/{userId}``: the record, or JSON ``null`` for strangers."""
    require_user(request)
    group = group_or_404(request)
    target = user_or_404(request, request.match_info["userId"])
    record = group.memberships.get(target.id)
    return web.json_response(render.member(record, state_of(request)) if record else None)


async def update_member(request: web.Request) -> web.StreamResponse:
    """``PUT /groups/{groupId}/members/{userId}``: self, or ``group-members-manage`` for others."""
    actor = require_user(request)
    group = group_or_404(request)
    target = user_or_404(request, request.match_info["userId"])
    if target.id != actor.id:
        require_permission(request, group, actor, "group-members-manage")
    if not state_of(request).is_member(group.id, target.id):
        raise ApiError(404, MSG_TARGET_NOT_MEMBER)
    body = await read_json(request)
    record = state_of(request).update_member(group.id, target.id, actor.id, body)
    return web.json_response(render.member(record, state_of(request)))


async def kick_member(request: web.Request) -> web.StreamResponse:
    """``DELETE /groups/{groupId}/members/{userId}`` needs ``group-members-remove``."""
    actor, group = permitted(request, "group-members-remove")
    target = user_or_404(request, request.match_info["userId"])
    if target.id == group.owner_id:
        raise ApiError(403, MSG_CANT_REMOVE_OWNER)
    if not state_of(request).is_member(group.id, target.id):
        raise ApiError(404, MSG_TARGET_NOT_MEMBER)
    state_of(request).kick(group.id, target.id, actor.id)
    return success("Group member deleted!")


async def get_bans(request: web.Request) -> web.StreamResponse:
    """``GET /groups/{groupId}/bans`` needs ``group-bans-manage``."""
    _actor, group = permitted(request, "group-bans-manage")
    return _member_list(request, group, "banned")


async def ban_member(request: web.Request) -> web.StreamResponse:
    """``POST /groups/{groupId}/bans`` with ``{"userId"}``; members and non-members alike."""
    actor, group, target, _body = await _body_user(request, "group-bans-manage")
    if target.id == group.owner_id:
        raise ApiError(403, MSG_CANT_REMOVE_OWNER)
    if _status_of(group, target) == "banned":
        raise ApiError(400, MSG_ALREADY_BANNED)
    record = state_of(request).ban(group.id, target.id, actor.id)
    return web.json_response(render.member(record, state_of(request)))


async def unban_member(request: web.Request) -> web.StreamResponse:
    """``DELETE /groups/{groupId}/bans/{userId}``."""
    actor, group, target = _path_user_with(
        request, "group-bans-manage", "banned", ApiError(404, MSG_NOT_BANNED)
    )
    record = state_of(request).unban(group.id, target.id, actor.id)
    return web.json_response(render.member(record, state_of(request)))


async def get_invites(request: web.Request) -> web.StreamResponse:
    """``GET /groups/{groupId}/invites`` needs ``group-invites-manage``."""
    _actor, group = permitted(request, "group-invites-manage")
    return _member_list(request, group, "invited")


async def create_invite(request: web.Request) -> web.StreamResponse:
    """``POST /groups/{groupId}/invites`` with ``{"userId", "confirmOverrideBlock"?}``; 200, no body."""
    actor, group, target, body = await _body_user(request, "group-invites-manage")
    status = _status_of(group, target)
    if status == "member":
        raise ApiError(400, f"User {target.display_name} is already a member of this group\u2024")
    if status == "invited":
        raise ApiError(400, f"User {target.display_name} is already invited\u2024")
    if status == "banned" or (status == "userblocked" and body.get("confirmOverrideBlock") is not True):
        raise ApiError(403, MSG_CANT_INVITE)
    state_of(request).invite(group.id, target.id, actor.id)
    return ok_empty()


async def delete_invite(request: web.Request) -> web.StreamResponse:
    """``DELETE /groups/{groupId}/invites/{userId}``; 400 when there is no invite."""
    actor, group, target = _path_user_with(
        request, "group-invites-manage", "invited", ApiError(400, MSG_NOT_INVITED)
    )
    state_of(request).cancel_invite(group.id, target.id, actor.id)
    return ok_empty()


async def get_requests(request: web.Request) -> web.StreamResponse:
    """``GET /groups/{groupId}/requests``; ``blocked=true`` lists blocked requesters instead."""
    _actor, group = permitted(request, "group-invites-manage")
    status = "userblocked" if query_bool(request, "blocked") else "requested"
    return _member_list(request, group, status)


async def respond_request(request: web.Request) -> web.StreamResponse:
    """``PUT /groups/{groupId}/requests/{userId}`` with ``{"action": accept|reject, "block"?}``."""
    actor, group = permitted(request, "group-invites-manage")
    target = user_or_404(request, request.match_info["userId"])
    body = await read_json(request)
    action = body.get("action")
    if action not in {"accept", "reject"}:
        raise ApiError(400, f"Invalid action\u02f8 {action!r}")
    if _status_of(group, target) != "requested":
        raise ApiError(400, MSG_NO_JOIN_REQUEST)
    state_of(request).respond_request(group.id, target.id, actor.id, action, block=body.get("block") is True)
    return ok_empty()


async def search_groups(request: web.Request) -> web.StreamResponse:
    """``GET /groups?query=``: a name substring, or a short code (its discriminator too, if given)."""
    actor = require_user(request)
    n, offset = page_params(request)
    needle = request.query.get("query", "").strip().casefold()
    if not needle:
        return web.json_response([])
    hits = [
        g
        for g in state_of(request).groups.values()
        if needle in g.name.casefold()
        or needle in (g.short_code.casefold(), f"{g.short_code}.{g.discriminator}".casefold())
    ]
    return web.json_response([render.limited_group(g, actor.id) for g in hits[offset : offset + n]])


def add_routes(app: web.Application, prefix: str) -> None:
    """Register the group endpoints under ``prefix`` (``/api/1``)."""
    base = prefix + GROUP
    app.router.add_get(f"{prefix}/groups", search_groups)
    app.router.add_get(base, get_group)
    app.router.add_get(f"{base}/roles", get_roles)
    app.router.add_get(f"{base}/members", get_members)
    app.router.add_get(f"{base}/members/{{userId}}", get_member)
    app.router.add_put(f"{base}/members/{{userId}}", update_member)
    app.router.add_delete(f"{base}/members/{{userId}}", kick_member)
    app.router.add_get(f"{base}/bans", get_bans)
    app.router.add_post(f"{base}/bans", ban_member)
    app.router.add_delete(f"{base}/bans/{{userId}}", unban_member)
    app.router.add_get(f"{base}/invites", get_invites)
    app.router.add_post(f"{base}/invites", create_invite)
    app.router.add_delete(f"{base}/invites/{{userId}}", delete_invite)
    app.router.add_get(f"{base}/requests", get_requests)
    app.router.add_put(f"{base}/requests/{{userId}}", respond_request)
