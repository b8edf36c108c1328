"""Opening and closing group instances: ``POST /instances`` and ``DELETE /instances/{worldId}:{instanceId}``.

Only group instances are modelled (``type: "group"`` with the group as ``ownerId``). Opening needs
the group permission for the access type: ``group-instance-open-create`` for members-only,
``group-instance-restricted-create`` when ``roleIds`` limit it to roles, ``group-instance-plus-create``
and ``group-instance-public-create`` for the others, and ``group-instance-age-gated-create`` as well
for an age-gated one. Closing needs ``group-instance-manage``; closing one already closed is VRChat's
403 ("not allowed to close an already closed instance"), an unknown one its 404.
"""

from __future__ import annotations

from aiohttp import web

import bot.sandbox.vrchat.render_instances as render_instances

from .auth import require_user
from .common import ApiError, read_json, state_of
from .groups import require_permission

MSG_INSTANCE_NOT_FOUND = '"Instance not found"'
MSG_ALREADY_CLOSED = "You\u02bcre not allowed to close an already closed instance\u2024"
MSG_WORLD_NOT_FOUND = "World not found\u2024"
CREATE_PERMISSION = {
    "members": "group-instance-open-create",
    "plus": "group-instance-plus-create",
    "public": "group-instance-public-create",
}


async def create_instance(request: web.Request) -> web.StreamResponse:
    """``POST /instances`` (group instances only)."""
    actor = require_user(request)
    state = state_of(request)
    body = await read_json(request)
    if body.get("type") != "group":
        raise ApiError(400, "Only group instances are supported by the simulator\u2024")
    group = state.group(str(body.get("ownerId") or ""))
    if group is None:
        raise ApiError(404, "Can\u02bct find group\u01c3")
    access = body.get("groupAccessType", "members")
    role_ids = list(body.get("roleIds") or [])
    age_gate = bool(body.get("ageGate", False))
    unknown = [r for r in role_ids if r not in group.roles]
    if unknown:
        raise ApiError(400, f"Unknown role\u02f8 {unknown[0]!r}")
    if role_ids and access != "members":
        raise ApiError(400, "Roles can only restrict a members instance\u2024")
    needed = "group-instance-restricted-create" if role_ids else CREATE_PERMISSION[access]
    require_permission(request, group, actor, needed)
    if age_gate:
        require_permission(request, group, actor, "group-instance-age-gated-create")
    world_id = str(body.get("worldId"))
    if world_id not in state.worlds:
        raise ApiError(404, MSG_WORLD_NOT_FOUND)
    instance = state.open_instance(
        group.id,
        world_id,
        actor.id,
        access_type=access,
        region=body["region"],
        role_ids=role_ids,
        age_gate=age_gate,
    )
    return web.json_response(render_instances.instance(instance))


async def close_instance(request: web.Request) -> web.StreamResponse:
    """``DELETE /instances/{worldId}:{instanceId}``."""
    actor = require_user(request)
    state = state_of(request)
    location = f"{request.match_info['worldId']}:{request.match_info['instanceId']}"
    instance = state.open_instance_at(location)
    if instance is None:
        if location in state.closed_instances:
            raise ApiError(403, MSG_ALREADY_CLOSED)
        raise ApiError(404, MSG_INSTANCE_NOT_FOUND)
    group = state.group(instance.group_id)
    assert group is not None
    require_permission(request, group, actor, "group-instance-manage")
    return web.json_response(render_instances.instance(state.close_instance(location, actor.id)))


def add_routes(app: web.Application, prefix: str) -> None:
    """Register the instance endpoints under ``prefix`` (``/api/1``)."""
    app.router.add_post(f"{prefix}/instances", create_instance)
    # One path segment, two parameters, like the spec's template (the pipeline compares the two).
    app.router.add_delete(f"{prefix}/instances/{{worldId}}:{{instanceId}}", close_instance)
