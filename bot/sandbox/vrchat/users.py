"""User endpoints: profile lookup, search, a user's groups and group instances, self-update."""

from __future__ import annotations

from aiohttp import web

import bot.sandbox.vrchat.render as render
import bot.sandbox.vrchat.render_instances as render_instances

from .auth import require_user
from .common import MSG_MUST_BE_OWN, ApiError, page_params, read_json, state_of
from .groups import user_or_404
from .models import SimUser, iso

# UpdateUserRequest fields the simulator applies; other valid fields are accepted and ignored.
_UPDATABLE = {
    "status": "status",
    "statusDescription": "status_description",
    "bio": "bio",
    "bioLinks": "bio_links",
    "pronouns": "pronouns",
}


def _path_self(request: web.Request) -> SimUser:
    """The signed-in caller, when the path's ``userId`` is their own (403 otherwise, like VRChat)."""
    actor = require_user(request)
    if request.match_info["userId"] != actor.id:
        raise ApiError(403, MSG_MUST_BE_OWN)
    return actor


async def get_user(request: web.Request) -> web.StreamResponse:
    """``GET /users/{userId}`` (404 envelope for unknown ids although the spec lists none)."""
    require_user(request)
    return web.json_response(render.user(user_or_404(request, request.match_info["userId"])))


async def search_users(request: web.Request) -> web.StreamResponse:
    """``GET /users?search=``: displayName substring match; empty search returns ``[]``."""
    require_user(request)
    n, offset = page_params(request)
    needle = request.query.get("search", "").casefold()
    if not needle:
        return web.json_response([])
    hits = [u for u in state_of(request).users.values() if needle in u.display_name.casefold()]
    return web.json_response([render.limited_user_search(u) for u in hits[offset : offset + n]])


async def get_user_groups(request: web.Request) -> web.StreamResponse:
    """``GET /users/{userId}/groups``: groups the user is a full member of."""
    require_user(request)
    target = user_or_404(request, request.match_info["userId"])
    state = state_of(request)
    out = []
    for group in state.groups.values():
        record = group.memberships.get(target.id)
        if record is not None and record.status == "member":
            out.append(render.limited_user_group(record, group))
    return web.json_response(out)


async def get_user_group_instances(request: web.Request) -> web.StreamResponse:
    """``GET /users/{userId}/instances/groups``: only for your own id, else 403 like VRChat."""
    actor = _path_self(request)
    state = state_of(request)
    instances = [
        render_instances.instance(inst)
        for group in state.groups.values()
        if state.is_member(group.id, actor.id)
        for inst in group.instances
    ]
    return web.json_response({"fetchedAt": iso(state.clock()), "instances": instances})


async def update_user(request: web.Request) -> web.StreamResponse:
    """``PUT /users/{userId}``: own profile only (status, statusDescription, bio, bioLinks, pronouns)."""
    actor = _path_self(request)
    body = await read_json(request)
    for key, attr in _UPDATABLE.items():
        if key in body:
            value = list(body[key]) if key == "bioLinks" else body[key]
            setattr(actor, attr, value)
    state = state_of(request)
    actor.updated_at = state.clock()
    return web.json_response(render.current_user(actor, state))


def add_routes(app: web.Application, prefix: str) -> None:
    """Register the user endpoints under ``prefix`` (``/api/1``)."""
    app.router.add_get(f"{prefix}/users", search_users)
    app.router.add_get(f"{prefix}/users/{{userId}}", get_user)
    app.router.add_put(f"{prefix}/users/{{userId}}", update_user)
    app.router.add_get(f"{prefix}/users/{{userId}}/groups", get_user_groups)
    app.router.add_get(f"{prefix}/users/{{userId}}/instances/groups", get_user_group_instances)
