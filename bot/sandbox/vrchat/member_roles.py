"""Giving and taking a member's group role: ``PUT``/``DELETE
/groups/{groupId}/members/{userId}/roles/{groupRoleId}``.

Both need ``group-roles-assign`` (or ``*``, or being the owner) and answer the member's role ids
afterwards (the spec's GroupRoleIDList).  A change writes ``group.member.role.assign`` /
``group.member.role.unassign`` with the role's id and name in ``data``; giving a role the member
holds, or taking one they lack, changes nothing and writes nothing.

Not modelled (the spec and public notes say nothing of them): refusals for roles ranked above the
caller's own, for roles that require 2FA or a purchase, or for the owner's membership.
"""

from __future__ import annotations

from aiohttp import web

from .auth import require_user
from .common import MSG_ROLE_NOT_FOUND, MSG_TARGET_NOT_MEMBER, ApiError, state_of
from .groups import GROUP, group_or_404, require_permission, user_or_404
from .models import ROLES_ASSIGN

ROUTE = GROUP + "/members/{userId}/roles/{groupRoleId}"


async def _change(request: web.Request, *, give: bool) -> web.StreamResponse:
    actor = require_user(request)
    group = group_or_404(request)
    require_permission(request, group, actor, ROLES_ASSIGN)
    target = user_or_404(request, request.match_info["userId"])
    state = state_of(request)
    if not state.is_member(group.id, target.id):
        raise ApiError(404, MSG_TARGET_NOT_MEMBER)
    role_id = request.match_info["groupRoleId"]
    if role_id not in group.roles:
        raise ApiError(404, MSG_ROLE_NOT_FOUND)
    change = state.assign_role if give else state.unassign_role
    return web.json_response(change(group.id, target.id, role_id, actor.id))


async def add_member_role(request: web.Request) -> web.StreamResponse:
    """``PUT /groups/{groupId}/members/{userId}/roles/{groupRoleId}``."""
    return await _change(request, give=True)


async def remove_member_role(request: web.Request) -> web.StreamResponse:
    """``DELETE /groups/{groupId}/members/{userId}/roles/{groupRoleId}``."""
    return await _change(request, give=False)


def add_routes(app: web.Application, prefix: str) -> None:
    """Register the member-role endpoints under ``prefix`` (``/api/1``)."""
    app.router.add_put(prefix + ROUTE, add_member_role)
    app.router.add_delete(prefix + ROUTE, remove_member_role)
